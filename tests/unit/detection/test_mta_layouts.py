"""What the text-layout detectors read besides the reason: the SMTP command and remote host."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounce_stream.detection import parse

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "courier-text-only.eml",
            [("gil@example.org", "RCPT", "mx.example.org"), ("hal@nowhere.example", None, None)],
        ),
        (
            "qmail-stages.eml",
            [
                ("ann@example.org", "MAIL", "192.0.2.10"),
                ("bob@example.net", "DATA", "mx.example.net"),
                ("cat@sender.test", None, None),
                ("dan@sender.test", None, None),
                ("eve@nowhere.example", None, None),
                ("fay@sender.test", None, None),
            ],
        ),
        (
            "mailfoundry-two.eml",
            [
                ("ivy@example.org", None, "mx.example.org"),
                ("jon@example.net", None, "mx.example.net"),
            ],
        ),
        ("mfilter-relay.eml", [("rio@example.jp", "RCPT", None)]),
        ("x4-qmail-clone.eml", [("yan@example.org", "RCPT", "192.0.2.153")]),
        (
            "gmx-two.eml",
            [
                ("tom@example.de", "RCPT", "mx.example.de"),
                ("uma@example.de", "DATA", "mx01.example.de"),
            ],
        ),
        (
            "interscan-rcpt.eml",
            [("kim@example.org", "RCPT", None), ("lou@example.org", "RCPT", None)],
        ),
        ("x3-rcpt.eml", [("ned@example.org", "RCPT", None)]),
        ("x6-rcpt.eml", [("oto@example.org", "RCPT", None)]),
        ("imail-rcpt-stage.eml", [("quinn@example.org", "RCPT", None)]),
    ],
)
def test_layout_names_command_and_remote_host(
    name: str, expected: list[tuple[str, str | None, str | None]]
) -> None:
    """Each layout's own wording gives every recipient's failed SMTP command and remote MTA."""
    bounces = parse((SAMPLES / name).read_bytes()).bounces
    assert [(b.recipient, b.smtp_command, b.remote_mta) for b in bounces] == expected


def test_courier_dsn_keeps_its_fields_and_gains_the_command() -> None:
    """A Courier DSN's Status stands; its text paragraph adds the command and Courier's meaning."""
    raw = (SAMPLES / "courier-text-only.eml").read_bytes()
    with_dsn = raw.replace(
        b"--=_courier_0\nContent-Type: text/rfc822-headers",
        b"--=_courier_0\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mail.sender.test\n\n"
        b"Final-Recipient: rfc822; gil@example.org\nAction: failed\nStatus: 5.0.0\n\n"
        b"Final-Recipient: rfc822; hal@nowhere.example\nAction: failed\nStatus: 5.0.0\n\n"
        b"--=_courier_0\nContent-Type: text/rfc822-headers",
    )
    bounces = parse(with_dsn).bounces
    assert [(b.recipient, b.reason.value, b.smtp_command) for b in bounces] == [
        ("gil@example.org", "userunknown", "RCPT"),
        ("hal@nowhere.example", "networkerror", None),
    ]
    assert {b.detected_by for b in bounces} == {"courier"}


def test_courier_delay_notice_is_temporary() -> None:
    """Courier's "DELAYS IN DELIVERING YOUR MESSAGE" notice reports delays, not failures."""
    raw = (SAMPLES / "courier-text-only.eml").read_bytes()
    delayed = (
        raw.replace(b"NOTICE: mail delivery status.", b"WARNING: delayed mail.")
        .replace(b"UNDELIVERABLE MAIL", b"DELAYS IN DELIVERING YOUR MESSAGE")
        .replace(
            b"Your message to the following recipients cannot be delivered:",
            b"This is an advisory notice for\nthe following addresses only:",
        )
    )
    bounces = parse(delayed).bounces
    assert [(b.recipient, b.action.value if b.action else None) for b in bounces] == [
        ("gil@example.org", "delayed"),
        ("hal@nowhere.example", "delayed"),
    ]
    assert bounces[1].status == "4.0.944"


def _courier(paragraphs: str, dsn_blocks: str) -> bytes:
    """courier-text-only.eml with other recipient paragraphs and a delivery-status part."""
    raw = (SAMPLES / "courier-text-only.eml").read_bytes()
    start = raw.index(b"<gil@example.org>:")
    end = raw.index(b"\n---", start)
    raw = raw[:start] + paragraphs.encode() + raw[end:]
    return raw.replace(
        b"--=_courier_0\nContent-Type: text/rfc822-headers",
        b"--=_courier_0\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mail.sender.test\n\n" + dsn_blocks.encode() + b"\n"
        b"--=_courier_0\nContent-Type: text/rfc822-headers",
    )


def test_courier_placeholder_status_gives_way_to_the_remote_code() -> None:
    """Courier's DSN says 5.0.0 for every failure; the remote's quoted code is the status, even
    a temporary one Courier gave up on (its bounce does not say it expired)."""
    raw = _courier(
        "<gil@example.org>:\n    mx.example.org [192.0.2.25]:\n>>> RCPT TO:<gil@example.org>\n"
        "<<< 452 4.3.1 Insufficient system storage\n",
        "Final-Recipient: rfc822; gil@example.org\nAction: failed\nStatus: 5.0.0\n"
        "Remote-MTA: dns; mx.example.org [192.0.2.25]\n"
        "Diagnostic-Code: smtp; 452 4.3.1 Insufficient system storage\n",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.recipient, bounce.status, bounce.reason.value) == (
        "gil@example.org", "4.3.1", "systemfull")


def test_courier_failure_at_starttls_is_failedstarttls() -> None:
    """A Courier paragraph whose last command is STARTTLS reports a failed STARTTLS."""
    raw = _courier(
        "<gil@example.org>:\n    mx.example.org [192.0.2.25]:\n>>> STARTTLS\n"
        "<<< 454 4.7.0 TLS not available due to local problem\n",
        "Final-Recipient: rfc822; gil@example.org\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 454 4.7.0 TLS not available due to local problem\n",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.smtp_command, bounce.reason.value, bounce.status) == (
        "STARTTLS", "failedstarttls", "4.7.0")


def test_courier_program_alias_reports_the_address_the_sender_used() -> None:
    """An alias to a program is delivered to Courier's alias account (the DSN's
    Final-Recipient); the recipient is the paragraph's address, and the program's failure,
    told only by its output, is a mailer error."""
    raw = _courier(
        "<ops@example.org>:\n<<< mailbox database unavailable\n",
        'Final-Recipient: rfc822; ".xalias/ops@example+2eorg"@example.org\nAction: failed\n'
        "Original-Recipient: rfc822; ops@example.org\nStatus: 5.0.0\n"
        "Diagnostic-Code: unknown; mailbox database unavailable\n",
    )
    (bounce,) = parse(raw).bounces
    assert (bounce.recipient, bounce.reason.value) == ("ops@example.org", "mailererror")
