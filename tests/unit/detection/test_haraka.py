"""Haraka's outbound bounces (outbound/hmail.js with its default config/outbound.bounce_message
template): its "Too many failures (...)" is giving up; a split-off bounce says nothing."""

from __future__ import annotations

from bounce_stream.detection import parse


def _haraka(recipients: str, failure: str, extended: str, blocks: str) -> bytes:
    """A bounce in Haraka's layout (its HTML and image parts left out)."""
    return (
        "From: MAILER-DAEMON@mx.sender.test\n"
        "To: ann@sender.test\n"
        "Auto-Submitted: auto-replied\n"
        "Subject: failure notice\n"
        "Message-Id: <1@mx.sender.test>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status;\n    boundary="b0"\n\n'
        "This is a MIME-encapsulated message.\n\n"
        "--b0\nContent-Type: text/plain; charset=us-ascii\n\n"
        "Hi. This is the Haraka Mailer program at mx.sender.test.\n"
        "I'm afraid I wasn't able to deliver your message\n    \"hi\"\n"
        "to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"Intended Recipients: {recipients}\nFailure Reason: Error: {failure}\n\n{extended}\n\n"
        "--b0\nContent-type: message/delivery-status\n\n"
        "Reporting-MTA: dns;mx.sender.test\n" + blocks + "\n"
        "--b0\nContent-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n\nFrom: ann@sender.test\nSubject: hi\n\n--b0--\n"
    ).encode()


def test_given_up_temporary_reply_is_expired_with_the_remote_code() -> None:
    """"Too many failures" on a greylisting reply: expired, the remote's own 4.7.1 (Haraka's DSN
    made it 5.7.1)."""
    raw = _haraka(
        "<gil@example.org>", "Too many failures (Some recipients temp failed: <gil@example.org>)",
        "<gil@example.org>: 451 4.7.1 <gil@example.org>: Recipient address rejected: Greylisted",
        "\nFinal-Recipient: rfc822;gil@example.org\nAction: failed\nStatus: 5.7.1\n"
        "Remote-MTA: 192.0.2.25\nDiagnostic-Code: smtp;451 4.7.1 <gil@example.org>: "
        "Recipient address rejected: Greylisted \n",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.recipient, bounce.reason.value, bounce.status, bounce.detected_by) == (
        "gil@example.org", "expired", "4.7.1", "haraka")


def test_given_up_on_its_own_error_is_expired() -> None:
    """Haraka giving up on its own error ("Tried all MXs", with its own 5.1.2; "No TLS available
    but required by configuration.", with no Status) is expired, not an unknown host."""
    mxs = _haraka(
        "<gil@example.org>", "Too many failures (Tried all MXs)", "",
        "\nFinal-Recipient: rfc822;gil@example.org\nAction: failed\n"
        "Status: 5.1.2 (550 Tried all MXs example.org)\n",
    )
    tls = _haraka(
        "<hal@example.net>",
        "Too many failures (No TLS available but required by configuration.)", "",
        "\nFinal-Recipient: rfc822;hal@example.net\nAction: failed\n",
    )
    (first,) = parse(mxs).bounces
    (second,) = parse(tls).bounces
    assert (first.reason.value, first.status, first.hard_bounce) == ("expired", "5.1.2", False)
    assert (second.reason.value, second.status) == ("expired", "5.0.947")


def test_split_off_recipients_without_replies_are_undefined() -> None:
    """Recipients refused while others were accepted come back with "Some recipients failed"
    and bare DSN blocks: nothing tells the cause, so undefined (not read from boilerplate)."""
    raw = _haraka(
        "<gil@example.org>, <hal@example.org>",
        "Some recipients failed: <gil@example.org>, <hal@example.org>", "",
        "\nFinal-Recipient: rfc822;gil@example.org\n\nFinal-Recipient: rfc822;hal@example.org\n",
    )
    bounces = parse(raw).bounces
    assert [(b.recipient, b.reason.value, b.hard_bounce) for b in bounces] == [
        ("gil@example.org", "undefined", False), ("hal@example.org", "undefined", False)]
