"""Provider (remote host) rules and the reason rules that weigh a status against its text."""

from __future__ import annotations

from bounce_stream.detection import Reason, parse
from bounce_stream.detection.decide import decide
from bounce_stream.detection.evidence import Evidence


def dsn(
    diagnostic: str,
    status: str,
    recipient: str = "user@example.org",
    remote_mta: str | None = None,
    extra: str = "",
) -> bytes:
    """A minimal RFC 3464 report for one recipient."""
    remote = f"Remote-MTA: dns; {remote_mta}\n" if remote_mta else ""
    return (
        "From: MAILER-DAEMON@relay.example.net\n"
        "To: sender@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\nThe mail system could not deliver.\n"
        "\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"{remote}Diagnostic-Code: smtp; {diagnostic}\n{extra}"
        "\n--b--\n"
    ).encode()


def reason_of(raw: bytes) -> Reason:
    result = parse(raw)
    assert result.error is None and len(result.bounces) == 1
    return result.bounces[0].reason


def test_provider_code_applies_when_the_remote_host_is_the_providers() -> None:
    """Yahoo's [TSS04] is read as Yahoo's when Yahoo's server answered."""
    text = "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred"
    assert reason_of(dsn(text, "4.7.0", remote_mta="mta5.am0.yahoodns.net")) is Reason.REJECTED


def test_recipient_domain_alone_does_not_select_a_provider() -> None:
    """Mail for a yahoo.com address relayed elsewhere is not judged by Yahoo's codes."""
    text = "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred"
    raw = dsn(text, "4.7.0", recipient="user@yahoo.com", remote_mta="mx.filter.example.net")
    assert reason_of(raw) is not Reason.REJECTED


def test_a_providers_help_link_names_the_provider() -> None:
    """A reply pointing at the provider's own error-code page is the provider's reply."""
    text = (
        "550 5.1.0 <s@example.com> sender rejected. Refer to Error Codes section at "
        "https://www.cox.com/residential/support/email-error-codes.html AUP#CDRBL"
    )
    assert reason_of(dsn(text, "5.1.0", remote_mta="mx.cloudfilter.example")) is Reason.BLOCKED


def test_unknown_user_status_gives_way_to_a_blocking_text() -> None:
    """A 5.1.x status whose text says the client was blocked is a block, not a bad address."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="550 5.1.1 Client host 192.0.2.1 blocked using zen.spamhaus.org",
        status="5.1.1",
        smtp_command="RCPT",
    )
    assert decide(evidence)[0] is Reason.BLOCKED


def test_sender_rejection_text_counts_at_mail_from() -> None:
    """ "Sender rejected" answered to MAIL FROM is a rejected sender whatever the status."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="550 5.1.0 sender rejected",
        status="5.1.0",
        smtp_command="MAIL",
    )
    assert decide(evidence)[0] is Reason.REJECTED


def test_sender_rejection_text_at_rcpt_does_not_overrule_a_specific_status() -> None:
    """At RCPT with a status that decides, a "rejected" word is not about the sender."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="550 5.2.2 rejected: mailbox over quota",
        status="5.2.2",
        smtp_command="RCPT",
    )
    assert decide(evidence)[0] is Reason.MAILBOXFULL


def test_unknown_sender_domain_is_a_rejection() -> None:
    """Postfix's reject_unknown_sender_domain refuses the sender: rejected, not requireptr."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="450 4.1.8 <s@nx.example>: Sender address rejected: Domain not found",
        status="4.1.8",
        smtp_command="RCPT",
    )
    assert decide(evidence)[0] is Reason.REJECTED


def test_powermta_category_is_weaker_than_the_status() -> None:
    """PowerMTA's coarse category gives way to a specific status of the remote server."""
    extra = "X-PowerMTA-BounceCategory: bad-mailbox\n"
    raw = dsn("550 5.2.2 <user@example.org>... Mailbox full", "5.2.2", extra=extra)
    assert reason_of(raw) is Reason.MAILBOXFULL


def test_a_bad_mailbox_category_with_a_disabled_mailbox_status_is_suspend() -> None:
    """PowerMTA's "bad-mailbox" (missing or disabled) with RFC 3463's x.2.1 (the mailbox
    exists but is disabled) is a suspended mailbox; with x.1.1 it stays an unknown user."""
    extra = "X-PowerMTA-BounceCategory: bad-mailbox\n"
    disabled = dsn("550 5.2.1 <user@example.org>... User Unknown", "5.2.1", extra=extra)
    unknown = dsn("550 5.1.1 <user@example.org>... User Unknown", "5.1.1", extra=extra)
    assert reason_of(disabled) is Reason.SUSPEND
    assert reason_of(unknown) is Reason.USERUNKNOWN


def test_powermta_category_decides_when_nothing_else_does() -> None:
    """With a placeholder status and vague text, PowerMTA's category is the reason."""
    extra = "X-PowerMTA-BounceCategory: quota-issues\n"
    raw = dsn("554 delivery error: try another time", "5.0.0", extra=extra)
    assert reason_of(raw) is Reason.MAILBOXFULL


def test_mimecast_envelope_block_with_a_hyphen_is_rejected() -> None:
    """Mimecast's "Envelope blocked - User Entry" (a plain hyphen) rejects the sender."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="550 Envelope blocked - User Entry - https://community.mimecast.com/x",
        smtp_command="MAIL",
    )
    assert decide(evidence)[0] is Reason.REJECTED


def test_recipient_size_limit_status_beats_message_too_big_wording() -> None:
    """x.2.3 (the mailbox's own size limit) is exceedlimit even when the text says too big."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="552 5.2.3 Message too big for this recipient",
        status="5.2.3",
        smtp_command="DATA",
    )
    assert decide(evidence)[0] is Reason.EXCEEDLIMIT


def test_system_size_limit_status_stays_mesgtoobig() -> None:
    """x.3.4 (the system's limit) stays mesgtoobig when the text names a size limit."""
    evidence = Evidence(
        recipient="a@b.test",
        diagnostic="552 5.3.4 Message size exceeds fixed maximum message size",
        status="5.3.4",
        smtp_command="DATA",
    )
    assert decide(evidence)[0] is Reason.MESGTOOBIG


def test_diagnostic_of_only_codes_and_addresses_is_undefined() -> None:
    """A diagnostic with no words beyond codes and addresses leaves the reason undefined."""
    evidence = Evidence(recipient="a@b.test", diagnostic="smtp; 550 5.0.0 <a@b.test>")
    assert decide(evidence) == (Reason.UNDEFINED, "5.0.0")


def test_diagnostic_with_words_but_no_known_reason_is_onhold() -> None:
    """Some wording that matches no reason is a failure on hold, not undefined."""
    evidence = Evidence(recipient="a@b.test", diagnostic="450 4.0.0 Temporary failure")
    assert decide(evidence)[0] is Reason.ONHOLD


def exim_bounce(message: str) -> bytes:
    """An Exim failure report for one address with ``message`` under it."""
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
        "To: sender@example.com\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  user@example.org\n    {message}\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "From: sender@example.com\nTo: user@example.org\nSubject: hi\n\nhello\n"
    ).encode()


def test_exim_retry_timeout_is_a_soft_expiry() -> None:
    """Exim's "retry timeout exceeded" is an expiry of temporary failures: soft, 4.x."""
    result = parse(exim_bounce("retry timeout exceeded"))
    bounce = result.bounces[0]
    assert (bounce.reason, bounce.status, bounce.hard_bounce) == (
        Reason.EXPIRED,
        "4.0.947",
        False,
    )


def test_exim_permanent_refusal_stays_permanent() -> None:
    """An Exim report of a remote 5xx refusal keeps its permanent status."""
    message = (
        "SMTP error from remote mail server after RCPT TO:<user@example.org>:\n"
        "    host mx.example.org [192.0.2.1]: 550 5.1.1 user unknown"
    )
    bounce = parse(exim_bounce(message)).bounces[0]
    assert (bounce.reason, bounce.status) == (Reason.USERUNKNOWN, "5.1.1")


def postfix_dsn(paragraphs: str, blocks: str) -> bytes:
    """A Postfix bounce: its human-readable paragraphs and its delivery-status blocks."""
    return (
        "From: MAILER-DAEMON@relay.example.net (Mail Delivery System)\n"
        "To: sender@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n'
        "\n--b\nContent-Type: text/plain\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"{paragraphs}\n"
        "\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example.net\n\n"
        f"{blocks}"
        "\n--b--\n"
    ).encode()


def test_postfix_sentence_beside_the_dsn_gives_each_recipient_its_command() -> None:
    """Postfix's "(in reply to ... command)" is read per recipient from the human part."""
    raw = postfix_dsn(
        "<a@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <a@example.org>:\n"
        "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n\n"
        "<b@example.net>: host mx.example.net[192.0.2.2] said: 550 5.7.1 Sender\n"
        "    address rejected: Access denied (in reply to MAIL FROM command)\n",
        "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <a@example.org>: Recipient address rejected:\n"
        "    User unknown\n\n"
        "Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.7.1\n"
        "Diagnostic-Code: smtp; 550 5.7.1 Sender address rejected: Access denied\n",
    )
    bounces = parse(raw).bounces
    assert [(b.recipient, b.smtp_command, b.reason) for b in bounces] == [
        ("a@example.org", "RCPT", Reason.USERUNKNOWN),
        ("b@example.net", "MAIL", Reason.REJECTED),
    ]
    assert bounces[0].diagnostic_code is not None
    assert bounces[0].diagnostic_code.startswith("host mx.example.org[192.0.2.1] said: 550")


def test_postfix_sentence_is_not_taken_when_it_does_not_quote_the_diagnostic() -> None:
    """A human sentence that is not the same reply leaves the Diagnostic-Code as it is."""
    raw = postfix_dsn(
        "<a@example.org>: mail for example.org loops back to myself\n",
        "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.4.6\n"
        "Diagnostic-Code: X-Postfix; mail for example.org loops back to myself\n",
    )
    bounce = parse(raw).bounces[0]
    assert bounce.diagnostic_code == "mail for example.org loops back to myself"


def gmail_legacy(reply: str) -> bytes:
    """A pre-DSN Gmail bounce whose remote server answered ``reply``."""
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        "To: app@gmail.com\n"
        "Subject: Delivery Status Notification (Failure)\n\n"
        "Delivery to the following recipient failed permanently:\n\n"
        "     tom@example.net\n\n"
        "Technical details of permanent failure:\n"
        "Google tried to deliver your message, but it was rejected by the recipient domain. "
        f"The error that the other server returned was: {reply}\n\n"
        "----- Original message -----\nFrom: app@gmail.com\nTo: tom@example.net\n\nhi\n"
    ).encode()


def test_gmail_state_6_is_a_starttls_failure() -> None:
    """Gmail's "(state 6)" (the remote lacks TLS at MAIL) is failedstarttls."""
    bounce = parse(gmail_legacy("500 Remote server does not support TLS (state 6).")).bounces[0]
    assert (bounce.reason, bounce.smtp_command) == (Reason.FAILEDSTARTTLS, "MAIL")


def test_gmail_state_table_gives_way_to_a_specific_status() -> None:
    """A specific status in the reply overrides what Gmail's state table says."""
    bounce = parse(gmail_legacy("552 552 5.2.2 Mailbox full (state 14).")).bounces[0]
    assert bounce.reason is Reason.MAILBOXFULL
