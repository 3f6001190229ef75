"""parse() never raises and stays bounded on hostile input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import parse

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.eml"))
SEEDS = [path.read_bytes() for path in SAMPLES]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    """Arbitrary bytes give a ParseResult, never an exception."""
    result = parse(raw)
    assert result.fingerprint


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 5000), st.binary(max_size=200))
def test_mutated_bounces_never_raise(seed: bytes, at: int, noise: bytes) -> None:
    """Truncated or corrupted real-looking bounces never raise."""
    cut = at % (len(seed) + 1)
    assert parse(seed[:cut] + noise + seed[cut:]).fingerprint
    assert parse(seed[:cut]).fingerprint


def test_deeply_nested_multipart_is_bounded() -> None:
    """Hundreds of nested multiparts are cut at the depth limit without recursion errors."""
    head = b"From: a@b.test\nContent-Type: multipart/mixed; boundary=b0\n\n"
    body = b""
    for depth in range(1, 400):
        body += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (depth - 1, depth)
    result = parse(head + body)
    assert result.error is None


def test_enormous_header_and_body_are_bounded() -> None:
    """A megabytes-long header line and body parse without error."""
    raw = b"From: a@b.test\nSubject: " + b"x" * 3_000_000 + b"\n\n" + b"y\n" * 1_000_000
    assert parse(raw).error is None


def test_eight_bit_headers_and_bad_charsets() -> None:
    """8-bit header bytes and unknown charsets are decoded leniently."""
    raw = (
        b"From: M\xe4iler <MAILER-DAEMON@x.test>\nSubject: =?x-unknown?B?////?= \xff\xfe\n"
        b"Content-Type: text/plain; charset=no-such-charset\n\n\xff\xfe\xfd\n"
    )
    assert parse(raw).error is None


def test_boundary_look_alikes_are_bounded() -> None:
    """A body full of boundary look-alikes is split without scanning every one of them."""
    raw = b"From: a@b.test\nContent-Type: multipart/mixed; boundary=a\n\n" + b"--a--a x\n" * 50_000
    assert parse(raw).error is None


def test_truncated_multipart_keeps_its_last_part() -> None:
    """A multipart cut before its closing delimiter still yields the parts it has."""
    raw = (
        b"From: MAILER-DAEMON@relay.test\nSubject: Undelivered Mail\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n"
        b"--x\nContent-Type: message/delivery-status\n\n"
        b"Final-Recipient: rfc822; cut@example.org\nAction: failed\nStatus: 5.1.1\n"
    )
    assert [bounce.recipient for bounce in parse(raw).bounces] == ["cut@example.org"]
