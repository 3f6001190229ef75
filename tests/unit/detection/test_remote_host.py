"""Text bounces report the remote host their MTA's wording names (Postfix, Exim, qmail,
sendmail), so that remote_mta is set and provider rules can key on it."""

from __future__ import annotations

import pytest

from bounce_stream.detection import ParseOptions, parse
from bounce_stream.detection.mta.textscan import remote_host


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("host mx1.example.net[192.0.2.10] said: 550 5.1.1 User unknown", "mx1.example.net"),
        ("host mx2.example.net[192.0.2.30] refused to talk to me: 554", "mx2.example.net"),
        ("connect to mx.example.com[192.0.2.20]:25: Connection refused", "mx.example.com"),
        (
            "lost connection with mx.example.org[2001:db8::1] while sending RCPT TO",
            "mx.example.org",
        ),
        (
            "SMTP error from remote mail server after RCPT TO:<a@b.example>: host "
            "mx.example.net [192.0.2.70]: 550 5.1.1 No such user",
            "mx.example.net",
        ),
        ("host mx.example.net [192.0.2.60]\nSMTP error from remote mail server", "mx.example.net"),
        (
            "SMTP error from remote server after RCPT command: host: MX.Example.CO.JP",
            "mx.example.co.jp",
        ),
        ("Connected to 192.0.2.50 but sender was rejected.", "192.0.2.50"),
        ("192.0.2.40 does not like recipient.\nRemote host said: 550 5.1.1", "192.0.2.40"),
        ("... while talking to smtp.example.com.:\n<<< 550 5.1.1 unknown", "smtp.example.com"),
        ("Remote host said: 550 5.1.1 unknown", None),
        ("Host unknown (Name server: nowhere.example: host not found)", None),
    ],
)
def test_remote_host_is_read_from_the_mta_wording(text: str, host: str | None) -> None:
    """Each MTA's way of naming the refusing host yields that host, lower-cased."""
    assert remote_host(text) == host


def test_qmail_bounce_event_carries_the_remote_host() -> None:
    """A qmail-send bounce's "does not like recipient" host becomes the event's remote_mta."""
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\nSubject: failure notice\n\n"
        b"Hi. This is the qmail-send program at mx.example.org.\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        b"<erin@example.com>:\n192.0.2.40 does not like recipient.\n"
        b"Remote host said: 550 5.1.1 <erin@example.com>... User unknown\n"
        b"Giving up on 192.0.2.40.\n"
    )
    events = parse(raw, ParseOptions()).bounces
    assert [(b.recipient, b.remote_mta) for b in events] == [("erin@example.com", "192.0.2.40")]
