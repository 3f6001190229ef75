"""Table-driven specification: each sample message and the events expected from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bounce_stream.detection import ParseOptions, parse

SAMPLES = Path(__file__).parent / "samples"
EXPECTED: dict[str, list[list[str | None]]] = json.loads((SAMPLES / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gives_expected_events(name: str) -> None:
    """Each sample yields exactly the expected (recipient, reason, status, reply) events."""
    result = parse((SAMPLES / name).read_bytes())
    got = [[b.recipient, b.reason.value, b.status, b.reply_code] for b in result.bounces]
    assert result.error is None
    assert got == EXPECTED[name]


def test_correlation_fields_come_from_the_returned_message() -> None:
    """Original Message-ID, tracking header, envelope id and subject are copied to events."""
    result = parse((SAMPLES / "postfix-userunknown.eml").read_bytes())
    bounce = result.bounces[0]
    assert bounce.original_message_id == "<news-1@sender.test>"
    assert bounce.tracking_id == "trk-123"
    assert bounce.envelope_id == "env-42"
    assert bounce.original_sender == "newsletter@sender.test"
    assert bounce.original_subject == "January news"
    assert bounce.smtp_command == "RCPT"
    assert bounce.hard_bounce


def test_verp_recipient_is_decoded_when_configured() -> None:
    """With a VERP separator the bounce's To address is decoded back to the recipient."""
    raw = (SAMPLES / "exim-mailboxfull.eml").read_bytes()
    assert parse(raw).bounces[0].verp_recipient is None
    decoded = parse(raw, ParseOptions(verp_separator="+")).bounces[0]
    assert decoded.verp_recipient == "frank@example.org"


def test_custom_tracking_header_is_honoured() -> None:
    """The tracking header name is configurable."""
    raw = (SAMPLES / "postfix-userunknown.eml").read_bytes().replace(b"X-Genro-Mail-ID", b"X-Trk")
    result = parse(raw, ParseOptions(tracking_header="X-Trk"))
    assert result.bounces[0].tracking_id == "trk-123"


def test_fingerprint_uses_message_id_or_normalised_digest() -> None:
    """The fingerprint is the Message-ID, else a digest independent of line endings."""
    with_id = parse((SAMPLES / "vacation.eml").read_bytes())
    assert with_id.fingerprint == "mid:<ooo-1@example.com>"
    raw = b"From: a@b.test\nSubject: x\n\nbody\n"
    assert parse(raw).fingerprint == parse(raw.replace(b"\n", b"\r\n")).fingerprint
    assert parse(raw).fingerprint.startswith("sha256:")


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_line_endings_do_not_change_the_result(newline: bytes) -> None:
    """CRLF and bare-CR copies of a bounce classify exactly like the LF original."""
    raw = (SAMPLES / "dsn-two-recipients-no-blank.eml").read_bytes()
    expected = parse(raw).bounces
    assert parse(raw.replace(b"\n", newline)).bounces == expected


@pytest.mark.parametrize("junk", [b"", b"\x00\x01\x02" * 50, b"just some words\nno headers\n"])
def test_non_messages_are_errors(junk: bytes) -> None:
    """Bytes that are not an Internet message come back with ``error`` and no events."""
    result = parse(junk)
    assert result.error
    assert result.bounces == ()


@pytest.mark.parametrize(
    ("name", "detector"),
    [
        ("postfix-userunknown.eml", "rfc3464"),
        ("qmail-hostunknown.eml", "qmail"),
        ("qmail-stages.eml", "qmail"),
        ("postfix-pipe-maildrop.eml", "rfc3464"),
        ("mailfoundry-two.eml", "mailfoundry"),
        ("interscan-rcpt.eml", "interscanmss"),
        ("x1-mailboxfull.eml", "x1"),
        ("x3-rcpt.eml", "x3"),
        ("x6-rcpt.eml", "x6"),
        ("biglobe-mailboxfull.eml", "biglobe"),
        ("fml-notmember.eml", "fml"),
        ("imail-rcpt-stage.eml", "imail"),
        ("courier-text-only.eml", "courier"),
        ("mfilter-relay.eml", "mfilter"),
        ("gmx-two.eml", "gmx"),
        ("v5sendmail-hostunknown.eml", "v5sendmail"),
        ("x4-qmail-clone.eml", "x4"),
        ("einsundeins-size.eml", "gmx"),
        ("exim-mailboxfull.eml", "exim"),
        ("arf-abuse.eml", "arf"),
        ("vacation.eml", "rfc3834"),
        ("amazonses-json.eml", "amazonses"),
        ("opensmtpd-dsn.eml", "opensmtpd"),
        ("sendmail-transcript.eml", "v5sendmail"),  # a transcript and no address list
        ("dragonfly-blocked.eml", "dragonfly"),
        ("google-dsn.eml", "rfc3464/google"),
        ("orange-blocked.eml", "rfc3464/orange"),
        ("imail-mailboxfull.eml", "imail"),
        ("domino-userunknown.eml", "domino"),
        ("exchange2003-userunknown.eml", "exchange2003"),
        ("gmail-legacy.eml", "gmail"),
        ("zoho-delay.eml", "zoho"),
        ("mailmarshal-userunknown.eml", "mailmarshal"),
        ("mimecast-notice.eml", "mimecast"),
        ("jmrp-complaint.eml", "arf"),
        ("exchange-resolver.eml", "rfc3464/exchange"),
    ],
)
def test_sample_is_read_by_its_family(name: str, detector: str) -> None:
    """Each sample is decided by the detector (and provider rules) of its MTA family."""
    result = parse((SAMPLES / name).read_bytes())
    assert {bounce.detected_by for bounce in result.bounces} == {detector}


def test_feedback_and_vacation_are_not_failures() -> None:
    """Complaints and auto-replies carry no status and are neither hard nor soft bounces."""
    for name, feedback_type in (("arf-abuse.eml", "abuse"), ("vacation.eml", None)):
        bounce = parse((SAMPLES / name).read_bytes()).bounces[0]
        assert bounce.status is None
        assert not bounce.hard_bounce
        assert bounce.bounce_type.value == "undetermined"
        assert bounce.feedback_type == feedback_type
