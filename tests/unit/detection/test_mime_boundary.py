"""A multipart whose header names a boundary its body does not use is split at the body's
own delimiter lines; separator lines of dashes are never taken for one."""

from __future__ import annotations

from bounce_stream.detection import ParseOptions, parse
from bounce_stream.detection.mime import _guess_boundary, parse_entity

DSN = """\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="{declared}"

--{used}
Content-Type: text/plain

Your message could not be delivered.

--{used}
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org

Final-Recipient: rfc822; alice@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: User unknown

--{used}--
"""


def test_body_delimiters_are_used_when_the_declared_boundary_is_absent() -> None:
    """A DSN whose Content-Type boundary was mangled still parses into its parts."""
    raw = DSN.format(declared="mangled-by-relay", used="----=_Part_1.2.3")
    root = parse_entity(raw)
    assert [child.content_type for child in root.children] == [
        "text/plain",
        "message/delivery-status",
    ]
    events = parse(raw.encode(), ParseOptions()).bounces
    assert [(b.recipient, b.status, b.detected_by) for b in events] == [
        ("alice@example.net", "5.1.1", "rfc3464")
    ]


def test_the_declared_boundary_wins_when_the_body_uses_it() -> None:
    """An intact multipart is split at its declared boundary, not at the first dashes line."""
    raw = DSN.format(declared="b1", used="b1").replace(
        "Your message", "--not-a-boundary\nYour message"
    )
    assert len(parse_entity(raw).children) == 2


def test_a_line_of_dashes_is_not_guessed_as_a_boundary() -> None:
    """Separator lines people draw ("-----") are no delimiter; "------=_Part" lines are."""
    assert _guess_boundary("text\n--------------------\nmore\n") == ""
    assert _guess_boundary("x\n------=_Part_9_1.2\n") == "----=_Part_9_1.2"
    assert _guess_boundary("-- \nsignature\n") == ""
