"""Hostile shapes classify in time linear in their size.

Each case is sized so that the quadratic (or worse) code it pins took from several seconds to
minutes; the bound is generous for a loaded CI machine. Speed figures live in
benchmarks/fuzz_parse.py (--adversarial-only), not here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import parse
from bounce_stream.detection.headers import (
    ADDRESS_RE,
    MAX_ADDRESS_CHARS,
    addresses_in,
    decode_value,
    first_address,
)
from bounce_stream.detection.mime import decode_charset
from bounce_stream.detection.mta import textscan
from bounce_stream.detection.mta.domino import Notes
from bounce_stream.detection.mta.sendmail import Sendmail
from bounce_stream.detection.textutil import html_to_text

BOUND_SECONDS = 5.0
T = TypeVar("T")

REPORT = (
    b"From: MAILER-DAEMON@mx.example.test\nTo: sender@example.test\n"
    b"Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
)


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def dsn(final_recipient: bytes, report_text: bytes = b"Delivery failed.\n") -> bytes:
    return (
        REPORT + b"Content-Type: multipart/report; report-type=delivery-status; boundary=BB\n\n"
        b"--BB\nContent-Type: text/plain\n\n" + report_text + b"\n"
        b"--BB\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n\n"
        b"Final-Recipient: rfc822; " + final_recipient + b"\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--BB--\n"
    )


def test_final_recipient_without_at_sign_is_classified_in_linear_time() -> None:
    """A 199 kB Final-Recipient without "@" (28 s before) yields no recipient, quickly."""
    result, elapsed = timed(lambda: parse(dsn(b"x" * 199_000)))
    assert elapsed < BOUND_SECONDS
    assert result.error is None
    assert all(bounce.recipient != "x" * 199_000 for bounce in result.bounces)


def test_address_search_is_linear_in_runs_without_at_sign() -> None:
    """first_address and addresses_in scan 2 MB of address characters without "@" quickly."""
    for text in ("x" * 2_000_000, "<" + "a." * 1_000_000, "a@b" + "_" * 2_000_000):
        _, elapsed = timed(lambda text=text: (first_address(text), addresses_in(text)))
        assert elapsed < BOUND_SECONDS


def test_a_token_longer_than_an_smtp_path_is_not_an_address() -> None:
    """An address-shaped token over 254 characters (RFC 5321's path limit) is skipped."""
    long_local = "a" * 300 + "@example.org"
    assert first_address(f"rfc822; {long_local}") is None
    assert addresses_in(f"{long_local}, bob@example.org") == ["bob@example.org"]
    fitting = "a" * (MAX_ADDRESS_CHARS - len("@example.org")) + "@example.org"
    assert first_address(fitting) == fitting


_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
_ADDRESS_ALPHABET = "ab9Z.-_+'@<> :;\n"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ADDRESS_ALPHABET, max_size=40))
def test_linear_address_search_finds_what_the_address_pattern_finds(text: str) -> None:
    """addresses_in is ADDRESS_RE.findall (lower-cased, dots stripped), in linear time."""
    expected = [found.lower().strip(".") for found in ADDRESS_RE.findall(text)]
    assert addresses_in(text) == expected
    first = ADDRESS_RE.search(text, max(text.rfind("<"), 0)) or ADDRESS_RE.search(text)
    assert first_address(text) == (first.group(0).lower().strip(".") if first else None)


def test_punycode_charset_is_decoded_as_an_unknown_charset_in_linear_time() -> None:
    """A 400 kB quoted-printable charset=punycode part (~50 s to decode before) reads fast."""
    payload = b"x" * 1000 + b"-" + b"9" * 399_000
    raw = (
        REPORT + b"Content-Type: text/plain; charset=punycode\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n" + payload
    )
    result, elapsed = timed(lambda: parse(raw))
    assert elapsed < BOUND_SECONDS
    assert result.error is None
    assert decode_charset(b"caf\xc3\xa9", "punycode") == "caf\u00e9"  # read as UTF-8
    assert decode_charset(b"xn--caf-dma", "IDNA") == "xn--caf-dma"


def test_punycode_encoded_words_are_not_punycode_decoded() -> None:
    """An RFC 2047 word in charset punycode is read as UTF-8, not by the punycode codec."""
    assert decode_value("=?punycode?Q?caf-dma?=") == "caf-dma"


def test_long_blank_runs_around_an_address_line_are_linear() -> None:
    """Blank runs on an address line (cubic before: 20 kB of tabs took 74 s) scan fast."""
    for blank in (" ", "\t"):
        text = (
            "Delivery failed:\n"
            + blank * 100_000
            + "x y <user@example.org>"
            + blank * 100_000
            + "junk\n<other@example.org>: 550 unknown user\n"
        )
        blocks, elapsed = timed(lambda text=text: textscan.recipient_blocks(text))
        assert elapsed < BOUND_SECONDS
        assert ("other@example.org", "550 unknown user") in blocks


def test_newline_runs_before_a_section_end_are_linear() -> None:
    """199 kB of empty lines in a bounce (over 100 s before) classify fast, same result."""
    runs = b"\n" * 199_000
    report = b"----- Transcript of session follows -----\n550 5.1.1 unknown\n" + runs
    raw = dsn(b"user@example.org", report + b"   ----- Original message -----\n")
    result, elapsed = timed(lambda: parse(raw))
    assert elapsed < BOUND_SECONDS
    assert [bounce.recipient for bounce in result.bounces] == ["user@example.org"]


def test_transcript_end_is_where_the_blank_lines_above_the_dashes_start() -> None:
    """The transcript stops at the first of the blank lines above its "--- original" line."""
    text = "-- transcript of session follows --\n550 no\n\n \n  --- original message ---\nx"
    assert textscan.session_transcript(text) == "\n550 no\n"


_SECTION_END_BEFORE = re.compile(
    r"(?im)^(?:\s*-{3,}\s*(?:unsent\s+message|original\s+message|message\s+header)|"
    r"(?:reporting-mta|final-recipient|original-recipient|received-from-mta|arrival-date):)"
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\n", " ", "\t", "---", "-", "original message", "x", "arrival-date:"]),
        max_size=12,
    )
)
def test_transcript_end_is_found_where_the_line_start_pattern_finds_it(pieces: list[str]) -> None:
    """The linear transcript-end search returns the offset of the plain (?m)^ pattern."""
    text = "".join(pieces)
    found = _SECTION_END_BEFORE.search(text)
    expected = found.start() if found else -1
    lowered = text.lower()
    assert (
        textscan._section_end(
            lowered, textscan._SECTION_END_LOWER, textscan._SECTION_END_AFTER_NEWLINE_LOWER
        )
        == expected
    )


def test_dash_marker_patterns_are_linear_in_runs_of_dashes() -> None:
    """The Notes and Sendmail dash markers scan 100 kB of dashes once, not from every dash."""
    dashes = "-" * 100_000 + " failure"
    for pattern in (Notes.signature, Notes.start, Notes.end, Sendmail.signature):
        found, elapsed = timed(lambda pattern=pattern: pattern.search(dashes))
        assert elapsed < BOUND_SECONDS
        assert found is None
    marker = Notes.start.search("x\n" + "-" * 50 + " Failure Reasons " + "-" * 50 + "\nnext")
    assert marker is not None and marker.group(0).startswith("-" * 50)


def test_html_without_tag_ends_is_linear() -> None:
    """A megabyte of "<" (each rescanned 2,000 characters deep before) converts fast."""
    text, elapsed = timed(lambda: html_to_text("<" * 1_000_000 + "<b>bold</b>"))
    assert elapsed < BOUND_SECONDS
    assert text.split()[-1] == "bold"
