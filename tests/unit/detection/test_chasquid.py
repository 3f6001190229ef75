"""chasquid's DSNs (its internal/queue/dsn.go template, as its 1.11 binary writes it): the
text part's entries say which recipients it gave up on and which were commands."""

from __future__ import annotations

from bounce_stream.detection import parse

# (address, type, "permanently" or "timed out", error, status in the DSN)
_Entry = tuple[str, str, str, str, str]


def _chasquid(entries: list[_Entry]) -> bytes:
    """A bounce in chasquid's layout, one entry and one DSN block per recipient."""
    details, blocks, listed = [], [], []
    for address, kind, how, error, status in entries:
        listed.append(f"  - {address}\n")
        words = ("failed permanently with error:" if how == "permanently"
                 else "failed repeatedly and timed out, last error:")
        details.append(f'- "{address}" ({kind}) {words}\n    {error}\n')
        blocks.append(f"Original-Recipient: utf-8; {address}\nFinal-Recipient: utf-8; {address}\n"
                      f"Action: failed\nStatus: {status}\nDiagnostic-Code: smtp; {error}\n\n")
    return (
        "From: Mail Delivery System <postmaster-dsn@sender.test>\n"
        "To: <ann@sender.test>\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "Message-ID: <chasquid-dsn-abc@sender.test>\n"
        "X-Failed-Recipients: " + "".join(f"{e[0]}, " for e in entries) + "\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status;\n    boundary="b0"\n\n\n'
        "--b0\nContent-Type: text/plain; charset=\"utf-8\"\nContent-Disposition: inline\n"
        "Content-Description: Notification\nContent-Transfer-Encoding: 8bit\n\n"
        "Delivery of your message to the following recipient(s) failed permanently:\n\n"
        + "".join(listed) + "\n\nTechnical details:\n" + "".join(details) + "\n\n"
        "--b0\nContent-Type: message/global-delivery-status\n"
        "Content-Description: Delivery Report\nContent-Transfer-Encoding: 8bit\n\n"
        "Reporting-MTA: dns; sender.test\n\n" + "".join(blocks) + "\n"
        "--b0\nContent-Type: message/rfc822\nContent-Description: Undelivered Message\n\n"
        "From: ann@sender.test\nTo: x@example.org\nSubject: hi\n\nhello\n\n--b0--\n"
    ).encode()


def test_placeholder_status_gives_way_to_the_remote_code_and_command() -> None:
    """chasquid's 5.0.0 gives way to the remote's quoted code; its "MAIL+RCPT" and "DATA
    closing" prefixes name the command."""
    raw = _chasquid([
        ("gil@example.org", "EMAIL", "permanently",
         "MAIL+RCPT 550 5.1.1 <gil@example.org>: User unknown", "5.0.0"),
        ("hal@example.org", "EMAIL", "permanently",
         "DATA closing 552 5.3.4 Message size exceeds fixed limit", "5.0.0"),
    ])
    bounces = parse(raw).bounces
    assert [(b.recipient, b.reason.value, b.status, b.smtp_command, b.hard_bounce)
            for b in bounces] == [
        ("gil@example.org", "userunknown", "5.1.1", "RCPT", True),
        ("hal@example.org", "mesgtoobig", "5.3.4", "DATA", False),
    ]
    assert {b.detected_by for b in bounces} == {"chasquid"}


def test_recipients_it_gave_up_on_are_expired() -> None:
    """A recipient that "failed repeatedly and timed out" is expired when its last error was
    temporary (greylisting, a refused connection), and keeps a permanent cause."""
    raw = _chasquid([
        ("gil@example.org", "EMAIL", "timed out",
         "all MXs returned transient failures (last: MAIL+RCPT 451 4.7.1 <gil@example.org>: "
         "Recipient address rejected: Greylisted)", "4.0.0"),
        ("hal@example.net", "EMAIL", "timed out",
         "all MXs returned transient failures (last: Could not dial: dial tcp "
         "192.0.2.7:25: connect: connection refused)", "4.0.0"),
        ("ivy@example.com", "EMAIL", "timed out",
         "all MXs returned transient failures (last: Error creating client: 554 5.7.1 "
         "mx.example.com ESMTP not accepting messages from [192.0.2.1]: listed on "
         "bl.spamcop.net)", "4.0.0"),
    ])
    bounces = parse(raw).bounces
    assert [(b.recipient, b.reason.value, b.status, b.smtp_command) for b in bounces] == [
        ("gil@example.org", "expired", "4.7.1", "RCPT"),
        ("hal@example.net", "expired", "4.0.0", "CONN"),
        ("ivy@example.com", "blocked", "5.7.1", "CONN"),
    ]


def test_failed_command_alias_is_a_mailer_error() -> None:
    """An alias to a command (type PIPE) that exits non-zero is a mailererror, though its
    error is only "exit status 1"."""
    raw = _chasquid([("/usr/local/bin/deliver", "PIPE", "permanently", "exit status 1",
                      "5.0.0")])
    raw = raw.replace(b"Original-Recipient: utf-8; /usr/local/bin/deliver",
                      b"Original-Recipient: utf-8; gil@example.org")
    (bounce,) = parse(raw).bounces
    assert (bounce.recipient, bounce.reason.value, bounce.status) == (
        "gil@example.org", "mailererror", "5.0.0")
