"""Rules written from the wording of the MTAs the bounce lab runs (Postfix, Exim, OpenSMTPD,
Sendmail) and of RFC 3463; the samples are composed from the MTAs' templates with other hosts,
codes and texts than the lab's, so they check the rule, not one lab file."""

from __future__ import annotations

import pytest

from bounce_stream.detection import Reason, parse
from bounce_stream.detection.decide import decide
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.gaveup import says_it_gave_up


def _decide(diagnostic: str, status: str | None, command: str | None = None,
            action: str = "failed") -> tuple[Reason, str | None]:
    return decide(Evidence(recipient="rcpt@example.net", diagnostic=diagnostic, status=status,
                           action=action, smtp_command=command,
                           reply_code=diagnostic[:3] if diagnostic[:1].isdigit() else None))


@pytest.mark.parametrize(
    ("diagnostic", "status", "command", "reason"),
    [
        # Virus scanners' wording relayed by the refusing server.
        ("554 5.7.1 Message rejected: virus found (Win.Test.EICAR_HDB-1)", "5.7.1", "DATA",
         Reason.VIRUSDETECTED),
        ("550 5.7.0 This message contains malware (Trojan.Agent)", "5.7.0", "DATA",
         Reason.VIRUSDETECTED),
        ("554 5.7.0 Infected (Doc.Dropper.Agent-1)", "5.7.0", "DATA", Reason.VIRUSDETECTED),
        # A DNS blocklist zone named as where the client is listed.
        ("550 5.7.1 Rejected: 192.0.2.9 listed at sbl.spamhaus.org", "5.7.1", "RCPT",
         Reason.BLOCKED),
        ("554 5.7.1 mx.example.net not accepting messages from [192.0.2.9]: listed on "
         "dnsbl.example.org", "5.7.1", "CONN", Reason.BLOCKED),
        # Message rate limits are speeding; a connection rate limit stays toomanyconn.
        ("421 4.7.0 mx.example.net Error: too many messages from 192.0.2.7", "4.7.0", "MAIL",
         Reason.SPEEDING),
        ("450 4.7.1 <rcpt@example.net>: Recipient address rejected: Sender rate limit "
         "exceeded", "4.7.1", "RCPT", Reason.SPEEDING),
        ("452 4.3.2 Connection rate limit exceeded.", "4.3.2", "MAIL", Reason.TOOMANYCONN),
        # The site's policy, after RFC 3463's title of x.7.1.
        ("554 5.7.1 Delivery not authorized, message refused: rejected by local policy",
         "5.7.1", "DATA", Reason.POLICYVIOLATION),
        # Postfix smtp(8)'s refused connection.
        ("connect to mx.example.net[192.0.2.25]:25: Connection refused", "4.4.1", None,
         Reason.NETWORKERROR),
    ],
)
def test_mta_wording_decides_the_reason(
    diagnostic: str, status: str, command: str | None, reason: Reason
) -> None:
    """The refusing server's or the MTA's own words decide over the status class."""
    assert _decide(diagnostic, status, command)[0] is reason


def test_media_status_is_contenterror_even_for_header_wording() -> None:
    """RFC 3463 x.6.x (message content or media) is contenterror, whatever header it names."""
    assert _decide("554 5.6.0 Message header is not valid: bad Date", "5.6.0", "DATA") == (
        Reason.CONTENTERROR, "5.6.0")


def test_greylisting_in_a_failed_report_is_expired() -> None:
    """A greylisting deferral that ends in a failed report means the queue gave up."""
    reason, status = _decide("450 4.2.0 <rcpt@example.net>: Recipient address rejected: "
                             "Greylisted for 300 seconds", "4.2.0", "RCPT")
    assert (reason, status) == (Reason.EXPIRED, "4.2.0")


@pytest.mark.parametrize(
    ("text", "gave_up"),
    [
        ("Message could not be delivered for 5 days\nMessage will be deleted from queue", True),
        ("Cannot send message for 4 days", True),
        ("rcpt@example.net: retry timeout exceeded", True),
        ("retry time not reached for any host after a long failure period", True),
        ("Warning: could not send message for past 4 hours", False),
        ("Delivery attempts will continue to be made for 4 days", False),
    ],
)
def test_giving_up_wording(text: str, gave_up: bool) -> None:
    """Sendmail's and Exim's giving-up sentences are recognised; delay warnings are not."""
    assert says_it_gave_up(text) is gave_up


def _sendmail_dsn(transcript: str, status: str, diagnostic: str, action: str = "failed",
                  with_diagnostic_code: bool = True) -> bytes:
    code = f"Diagnostic-Code: SMTP; {diagnostic}\n" if with_diagnostic_code else ""
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>
To: <sender@example.org>
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1

The original message was received at Mon, 2 Mar 2026 10:00:00 GMT
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<rcpt@example.net>
    (reason: {diagnostic})

   ----- Transcript of session follows -----
{transcript}

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.org

Final-Recipient: RFC822; rcpt@example.net
Action: {action}
Status: {status}
Remote-MTA: DNS; mx.example.net
{code}
--B1--
""".encode()


def test_sendmail_giving_up_on_a_temporary_refusal_is_expired() -> None:
    """Sendmail's "Message could not be delivered for" after a 4xx reply: expired, with the
    remote's own code."""
    reply = "452 4.5.3 Too many recipients in this session"
    raw = _sendmail_dsn(
        "... while talking to mx.example.net.:\n>>> RCPT To:<rcpt@example.net>\n"
        f"<<< {reply}\n<rcpt@example.net>... Deferred: {reply}\n"
        "Message could not be delivered for 5 days\nMessage will be deleted from queue",
        "4.4.7", reply)
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.EXPIRED, "4.5.3")


def test_sendmail_permanent_refusal_is_not_expired_by_another_recipients_timeout() -> None:
    """A 5xx refusal keeps its reason even when the report also says the queue gave up."""
    reply = "550 5.1.1 <rcpt@example.net>... No such user"
    raw = _sendmail_dsn(
        f"... while talking to mx.example.net.:\n>>> RCPT To:<rcpt@example.net>\n<<< {reply}\n"
        "Message could not be delivered for 5 days", "5.1.1", reply)
    (bounce,) = parse(raw).bounces
    assert bounce.reason is Reason.USERUNKNOWN


def test_sendmail_remote_code_beats_its_own_summary() -> None:
    """The remote's "<<< 554 5.7.1" decides over Sendmail's own "554 5.0.0" and x.5.0 (a
    refusal at DATA: Sendmail's DSN has no Diagnostic-Code, only the transcript)."""
    raw = _sendmail_dsn(
        "... while talking to mx.example.net.:\n>>> DATA\n"
        "<<< 554 5.7.1 Message refused: spam score too high\n554 5.0.0 Service unavailable",
        "5.5.0", "554 5.7.1 Message refused: spam score too high",
        with_diagnostic_code=False)
    (bounce,) = parse(raw).bounces
    assert bounce.status == "5.7.1"


def test_sendmail_refused_greeting_is_a_block_at_the_connection() -> None:
    """A "<<<" refusal right after "... while talking to host:" (no ">>>" command before it)
    is the server's greeting: the client was refused (blocked), and the ">>> QUIT" Sendmail
    sends afterwards is not the failed command."""
    reply = "554 mx.example.net ESMTP not accepting messages from you"
    raw = _sendmail_dsn(
        f"... while talking to mx.example.net.:\n<<< {reply}\n>>> QUIT\n"
        "<<< 421 4.7.0 mx.example.net Error: too many errors\n554 5.0.0 Service unavailable",
        "5.5.0", reply)
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.smtp_command) == (Reason.BLOCKED, "CONN")


def test_sendmail_refusal_after_a_command_names_that_command() -> None:
    """The command a refusal answered is the ">>>" line before the first "<<<" refusal."""
    reply = "550 5.7.1 Access denied"
    raw = _sendmail_dsn(
        f"... while talking to mx.example.net.:\n>>> MAIL From:<s@example.org>\n<<< {reply}\n"
        ">>> QUIT\n<<< 221 2.0.0 closing", "5.7.1", reply)
    (bounce,) = parse(raw).bounces
    assert bounce.smtp_command == "MAIL"


def test_sendmail_positive_dsn_keeps_its_delivery_status() -> None:
    """A relayed DSN reports its own 2.0.0, not the RCPT reply's 2.1.5."""
    raw = _sendmail_dsn("", "2.0.0", "250 2.1.5 <rcpt@example.net>... Recipient ok", "relayed")
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.DELIVERED, "2.0.0")


def _exim_dsn(text: str, diagnostic: str) -> bytes:
    return f"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: sender@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: rcpt@example.net
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=E1

--E1
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  rcpt@example.net
    {text}

--E1
Content-type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Action: failed
Final-Recipient: rfc822;rcpt@example.net
Status: 5.0.0
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diagnostic}

--E1--
""".encode()


def test_exim_retry_timeout_on_a_temporary_refusal_is_expired_with_the_remote_code() -> None:
    """Exim's "retry timeout exceeded" after a 4xx: expired, the remote's 4.x.x not its 5.0.0."""
    reply = "421 4.7.0 mx.example.net Too many connections, try again later"
    raw = _exim_dsn(f"host mx.example.net [192.0.2.25]\n    {reply}: retry timeout exceeded",
                    f"{reply}: retry timeout exceeded")
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.EXPIRED, "4.7.0")


def test_exim_full_mailbox_given_up_stays_mailboxfull() -> None:
    """A given-up failure that names the recipient's mailbox keeps that reason."""
    reply = "452 4.2.2 <rcpt@example.net>: Mailbox full"
    raw = _exim_dsn(f"host mx.example.net [192.0.2.25]\n    {reply}: retry timeout exceeded",
                    f"{reply}: retry timeout exceeded")
    (bounce,) = parse(raw).bounces
    assert bounce.reason is Reason.MAILBOXFULL


def _opensmtpd(intro: str, line: str, action: str, status: str) -> bytes:
    return f"""\
Subject: Delivery status notification: {action}
From: Mailer Daemon <MAILER-DAEMON@mx.example.org>
To: sender@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed;boundary="O1"

--O1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this email.

    {intro}

{line}

    Below is a copy of the original message:

--O1
Content-Description: Delivery Report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; rcpt@example.net
Action: {action}
Status: {status}

--O1--
""".encode()


def test_opensmtpd_positive_dsn_is_delivered() -> None:
    """OpenSMTPD's "successfully delivered" report with Action delivered is a positive DSN."""
    raw = _opensmtpd("Your message was successfully delivered to these recipients.",
                     "rcpt@example.net: ", "delivered", "2.0.0")
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.DELIVERED, "2.0.0")


def test_opensmtpd_failed_local_command_is_mailererror() -> None:
    """OpenSMTPD's x.3.0 with the command's quoted output (no SMTP reply) is a mailer error."""
    raw = _opensmtpd("An error has occurred while attempting to deliver a message for\n"
                     "    the following list of recipients:",
                     'rcpt@example.net: "procmail: Error while writing to mailbox"',
                     "failed", "5.3.0")
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.MAILERERROR, "5.3.0")


def test_opensmtpd_placeholder_status_yields_to_the_quoted_reply() -> None:
    """OpenSMTPD's 5.0.0 for a remote refusal is a placeholder: the reply's code is reported."""
    raw = _opensmtpd("An error has occurred while attempting to deliver a message for\n"
                     "    the following list of recipients:",
                     "rcpt@example.net: 552 5.2.2 Mailbox quota exceeded", "failed", "5.0.0")
    (bounce,) = parse(raw).bounces
    assert (bounce.reason, bounce.status) == (Reason.MAILBOXFULL, "5.2.2")
