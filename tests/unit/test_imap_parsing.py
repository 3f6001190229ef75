"""Pure IMAP helpers: UID set compaction, FETCH response parsing, INTERNALDATE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import aioimaplib
import pytest

from bounce_stream.mailbox.imap import (
    ImapMailbox,
    MessageInfo,
    _internal_date,
    parse_fetch,
    uid_set,
)
from bounce_stream.settings import MailboxSettings

BODY_1 = bytearray(b"From: a@x.test\r\nSubject: one\r\n\r\nbody one\r\n")
BODY_2 = bytearray(b"From: b@x.test\r\nSubject: two\r\n\r\nbody two, longer\r\n")


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"),
        ([5], "5"),
        ([4, 5], "4:5"),
        ([10, 3, 2, 1, 11], "1:3,10:11"),
        ([3, 3, 2, 2], "2:3"),
        ([1, 3, 5], "1,3,5"),
        ([], ""),
    ],
)
def test_uid_set_compaction(uids: list[int], expected: str) -> None:
    """UIDs are sorted, de-duplicated and runs collapsed into a:b ranges."""
    assert uid_set(uids) == expected


def test_uid_set_accepts_any_iterable() -> None:
    """uid_set takes a generator as well as a list."""
    assert uid_set(u for u in (8, 6, 7)) == "6:8"


def test_parse_fetch_bodies_realistic() -> None:
    """Header line + bytearray literal + ')' per message, then the tagged completion line."""
    lines = [
        b'1 FETCH (UID 1 RFC822.SIZE 2655 INTERNALDATE "25-Nov-2026 20:12:34 +0000" BODY[]',
        BODY_1,
        b")",
        b'2 FETCH (UID 5 RFC822.SIZE 31 INTERNALDATE "26-Nov-2026 01:02:03 +0100" BODY[] {31}',
        BODY_2,
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    parsed = parse_fetch(lines)
    assert parsed == [
        (
            MessageInfo(
                uid=1, size=2655, internal_date=datetime(2026, 11, 25, 20, 12, 34, tzinfo=UTC)
            ),
            bytes(BODY_1),
        ),
        (
            MessageInfo(
                uid=5,
                size=31,
                internal_date=datetime(2026, 11, 26, 1, 2, 3, tzinfo=timezone(timedelta(hours=1))),
            ),
            bytes(BODY_2),
        ),
    ]
    assert all(type(literal) is bytes for _, literal in parsed)


def test_parse_fetch_keeps_server_order() -> None:
    """Results come back in the order the server sent them, not sorted by UID."""
    lines = [
        b"1 FETCH (UID 9 RFC822.SIZE 10 BODY[]",
        bytearray(b"0123456789"),
        b")",
        b"2 FETCH (UID 3 RFC822.SIZE 10 BODY[]",
        bytearray(b"abcdefghij"),
        b")",
    ]
    assert [info.uid for info, _ in parse_fetch(lines)] == [9, 3]


def test_parse_fetch_metadata_only() -> None:
    """Lines without a literal give info with no body (size and date still parsed)."""
    lines = [
        b'1 FETCH (UID 11 RFC822.SIZE 100 INTERNALDATE "01-Jan-2026 00:00:00 +0000")',
        b'2 FETCH (UID 12 RFC822.SIZE 200 INTERNALDATE "02-Jan-2026 00:00:00 -0500")',
        b"Fetch completed",
    ]
    parsed = parse_fetch(lines)
    assert [(i.uid, i.size, literal) for i, literal in parsed] == [
        (11, 100, None),
        (12, 200, None),
    ]
    assert parsed[1][0].internal_date == datetime(
        2026, 1, 2, 0, 0, tzinfo=timezone(timedelta(hours=-5))
    )


def test_parse_fetch_skips_unsolicited_flags_without_uid() -> None:
    """An unsolicited FETCH (FLAGS ...) without UID between responses is ignored."""
    lines = [
        b"3 FETCH (FLAGS (\\Seen \\Recent))",
        b"1 FETCH (UID 1 RFC822.SIZE 10 BODY[]",
        bytearray(b"0123456789"),
        b")",
        b"4 FETCH (FLAGS (\\Deleted))",
        b"Fetch completed",
    ]
    parsed = parse_fetch(lines)
    assert [(i.uid, literal) for i, literal in parsed] == [(1, b"0123456789")]


def test_parse_fetch_uid_after_literal() -> None:
    """Items sent after the literal (') UID 5)') are joined to the header and still read."""
    lines = [
        b'1 FETCH (RFC822.SIZE 10 INTERNALDATE "25-Nov-2026 20:12:34 +0000" BODY[] {10}',
        bytearray(b"0123456789"),
        b" UID 5)",
        b"Fetch completed",
    ]
    ((info, literal),) = parse_fetch(lines)
    assert info.uid == 5
    assert literal == b"0123456789"


def test_parse_fetch_uid_text_inside_body_is_not_used() -> None:
    """A 'UID 999' inside the message body does not override the header's UID."""
    lines = [
        b"1 FETCH (UID 2 RFC822.SIZE 20 BODY[]",
        bytearray(b"Subject: UID 999\r\n\r\n"),
        b")",
    ]
    ((info, _),) = parse_fetch(lines)
    assert info.uid == 2


def test_parse_fetch_size_falls_back_to_literal_length() -> None:
    """Without RFC822.SIZE, the size is the literal's length."""
    lines = [b"1 FETCH (UID 4 BODY[]", bytearray(b"12345"), b")"]
    ((info, _),) = parse_fetch(lines)
    assert info.size == 5
    assert info.internal_date is None


def test_parse_fetch_untagged_star_prefix() -> None:
    """A header line that still carries the '* ' untagged prefix is read too."""
    lines = [b"* 1 FETCH (UID 21 RFC822.SIZE 10)"]
    assert [i.uid for i, _ in parse_fetch(lines)] == [21]


def test_parse_fetch_ignores_non_fetch_and_non_bytes() -> None:
    """Other untagged responses, strings and the completion line produce nothing."""
    lines = [b"2 EXISTS", "1 FETCH (UID 1)", None, b"Fetch completed"]
    assert parse_fetch(lines) == []


def test_parse_fetch_empty() -> None:
    """An empty response parses to an empty list."""
    assert parse_fetch([]) == []


def test_internal_date_aware() -> None:
    """INTERNALDATE '25-Nov-2026 20:12:34 +0000' parses to an aware UTC datetime."""
    value = _internal_date(b"25-Nov-2026 20:12:34 +0000")
    assert value == datetime(2026, 11, 25, 20, 12, 34, tzinfo=UTC)
    assert value is not None
    assert value.utcoffset() == timedelta(0)


def test_internal_date_space_padded_day_and_negative_offset() -> None:
    """A space-padded day (' 5-Nov-...') and a negative zone give the right instant."""
    value = _internal_date(b" 5-Nov-2026 08:00:00 -0230")
    assert value == datetime(2026, 11, 5, 10, 30, tzinfo=UTC)
    assert value is not None
    assert value.utcoffset() == -timedelta(hours=2, minutes=30)


def test_internal_date_minus_zero_zone_is_utc() -> None:
    """A '-0000' zone (no zone information) still yields an aware datetime, taken as UTC."""
    value = _internal_date(b"25-Nov-2026 20:12:34 -0000")
    assert value == datetime(2026, 11, 25, 20, 12, 34, tzinfo=UTC)
    assert value is not None
    assert value.tzinfo is not None


@pytest.mark.parametrize("raw", [b"garbage", b"", b"\xff\xfe"])
def test_internal_date_unparseable_is_none(raw: bytes) -> None:
    """An INTERNALDATE that cannot be read gives None rather than raising."""
    assert _internal_date(raw) is None


def test_errors_never_carry_the_password() -> None:
    """An aioimaplib error that quotes the LOGIN command is reported with the password blanked."""
    secret = "Sup3r-s3cret-pw"
    mailbox = ImapMailbox(
        MailboxSettings(name="m", host="imap.test", username="u", password=secret)
    )
    exc = aioimaplib.Abort(f'A1 LOGIN u "{secret}" timed out')
    text = mailbox._describe(exc)
    assert secret not in text and "***" in text
