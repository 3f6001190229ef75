"""Pure IMAP helpers (UID sets, FETCH/SEARCH parsing, INTERNALDATE) and the bounded protocol
fed bytes directly (no server: what it keeps, skips and refuses)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aioimaplib
import pytest

from bounce_stream.mailbox.imap import (
    ImapMailbox,
    ImapProtocolError,
    Limits,
    MessageInfo,
    Skipped,
    _BoundedProtocol,
    _internal_date,
    parse_fetch,
    parse_search,
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


def test_errors_never_carry_the_password_or_the_command() -> None:
    """An aioimaplib error that quotes the LOGIN command is reported by type, without its text."""
    secret = "Sup3r-s3cret-pw"
    mailbox = ImapMailbox(
        MailboxSettings(name="m", host="imap.test", username="u", password=secret)
    )
    exc = aioimaplib.Abort(f'A1 LOGIN u "{secret}" timed out')
    error = mailbox._error("LOGIN failed", exc)
    assert secret not in str(error) and "LOGIN u" not in str(error)
    assert error.reason == "protocol"


def test_timeouts_and_refusals_have_their_own_reasons() -> None:
    """A timeout is reason "timeout", a refused connection "connect" (the metric's label)."""
    settings = MailboxSettings(name="m", host="imap.test", username="u", password="pw")
    mailbox = ImapMailbox(settings)
    assert mailbox._error("x", TimeoutError()).reason == "timeout"
    assert (
        mailbox._error("x", ConnectionRefusedError(111, "Connection refused")).reason == "connect"
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"SEARCH 3 1 2"], [3, 1, 2]),
        ([b"SEARCH"], []),
        ([b"4 5"], [4, 5]),
        ([b"7 EXISTS", b"2 EXPUNGE", b"SEARCH 9", b"OK [HIGHESTMODSEQ 4]"], [9]),
        ([b"SEARCH 1 2", bytearray(b"SEARCH 3")], [1, 2, 3]),
    ],
)
def test_parse_search_reads_search_lines_only(lines: list[bytes], expected: list[int]) -> None:
    """UIDs come from SEARCH lines; other untagged responses (EXISTS, EXPUNGE, OK) are ignored."""
    assert parse_search(lines) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"SEARCH 1 2 x17 4",
        b"SEARCH 1 " + str(2**70).encode(),
        b"SEARCH 0",
        b"SEARCH " + b"9" * 5000,
    ],
)
def test_parse_search_refuses_what_is_not_a_uid(line: bytes) -> None:
    """A non-numeric token, a UID past 2^32-1, 0 or a 5000-digit number is a protocol error."""
    with pytest.raises(ImapProtocolError):
        parse_search([line])


def test_parse_fetch_refuses_a_uid_past_32_bits() -> None:
    """A FETCH item with UID 2^70 is a protocol error, not a value that cannot be encoded."""
    with pytest.raises(ImapProtocolError):
        parse_fetch([b"1 FETCH (UID %d RFC822.SIZE 10)" % 2**70])


@pytest.mark.parametrize("size", [b"1" + b"0" * 23, b"9" * 5000, b"4294967296"])
def test_parse_fetch_reads_a_size_past_32_bits_as_the_largest(size: bytes) -> None:
    """An RFC822.SIZE past 2^32-1 (10^23, 5000 digits) reads as 2^32-1: oversized, encodable."""
    [(info, _)] = parse_fetch([b"1 FETCH (UID 3 RFC822.SIZE " + size + b")"])
    assert info.size == 2**32 - 1


def test_parse_fetch_reports_a_skipped_literal() -> None:
    """A literal the protocol read past arrives as Skipped, with the size the server sent."""
    lines = [b"1 FETCH (UID 4 RFC822.SIZE 1000 BODY[] {5000000}", Skipped(5_000_000), b")"]
    [(info, literal)] = parse_fetch(lines)
    assert info.uid == 4 and literal == Skipped(5_000_000)


# -- the bounded protocol, fed bytes directly ---------------------------------------------


class _Transport:
    """Just what the protocol calls on its transport."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted


LIMITS = Limits(max_line=4096, max_literal=10_000, max_response=15_000)


async def _selected_protocol(limits: Limits = LIMITS) -> tuple[_BoundedProtocol, _Transport]:
    loop = asyncio.get_running_loop()
    proto = _BoundedProtocol(loop, None, limits)
    transport = _Transport()
    proto.connection_made(transport)
    proto.state = "SELECTED"
    return proto, transport


def _tag(transport: _Transport) -> bytes:
    return transport.written[-1].split()[0]


async def _run_fetch(proto: _BoundedProtocol, transport: _Transport, chunks: list[bytes]) -> Any:
    task = asyncio.ensure_future(proto.uid("fetch", "1:3", "(UID BODY.PEEK[])"))
    await asyncio.sleep(0)
    tag = _tag(transport)
    for chunk in chunks:
        proto.data_received(chunk.replace(b"TAG", tag))
    return await asyncio.wait_for(task, 5)


async def test_fetch_literals_within_bounds_are_kept_and_larger_ones_skipped() -> None:
    """A body over max_literal is streamed past (Skipped), the next body still arrives whole."""
    proto, transport = await _selected_protocol()
    big = b"B" * 12_000
    wire = (
        b"* 1 FETCH (UID 1 RFC822.SIZE 10 BODY[] {12000}\r\n" + big + b")\r\n"
        b"* 2 FETCH (UID 2 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n"
        b"TAG OK done\r\n"
    )
    # Fed in 1000-byte pieces: literals and lines split anywhere.
    resp = await _run_fetch(
        proto, transport, [wire[i : i + 1000] for i in range(0, len(wire), 1000)]
    )
    parsed = parse_fetch(resp.lines)
    assert [(i.uid, lit) for i, lit in parsed] == [(1, Skipped(12_000)), (2, b"hello")]
    assert not transport.aborted


async def test_literal_bytes_per_response_are_capped() -> None:
    """Past max_response literal bytes in one response (sizes lied), further bodies are skipped."""
    proto, transport = await _selected_protocol()
    body = b"x" * 9_000
    wire = b"".join(
        b"* %d FETCH (UID %d BODY[] {9000}\r\n" % (n, n) + body + b")\r\n" for n in (1, 2)
    )
    resp = await _run_fetch(proto, transport, [wire + b"TAG OK done\r\n"])
    literals = [lit for _, lit in parse_fetch(resp.lines)]
    assert literals == [body, Skipped(9_000)]


async def test_fifty_thousand_untagged_lines_in_one_read_are_handled_iteratively() -> None:
    """50,000 EXPUNGE lines in a single data_received neither recurse nor lose the response."""
    # The default bounds (25 MiB per message, 16 MiB per batch) hold 50,000 short lines.
    limits = Limits(max_line=8 << 20, max_literal=25 << 20, max_response=25 << 20)
    proto, transport = await _selected_protocol(limits)
    task = asyncio.ensure_future(proto.search("UID 1:*", by_uid=True, charset=None))
    await asyncio.sleep(0)
    tag = _tag(transport)
    flood = b"".join(b"* %d EXPUNGE\r\n" % n for n in range(1, 50_001))
    proto.data_received(flood + b"* SEARCH 7 8\r\n" + tag + b" OK done\r\n")
    resp = await asyncio.wait_for(task, 5)
    assert parse_search(resp.lines[:-1]) == [7, 8]


async def test_a_flood_of_short_lines_past_the_response_bound_drops_the_connection() -> None:
    """Untagged lines held for one response are bounded too: a flood past it aborts."""
    proto, transport = await _selected_protocol()
    task = asyncio.ensure_future(proto.search("ALL", charset=None))
    await asyncio.sleep(0)
    # LIMITS allow 15,000 + 4,096 bytes held; 200 lines of ~75 bytes each stay below.
    proto.data_received(b"".join(b"* %d EXPUNGE\r\n" % n for n in range(200)))
    assert not transport.aborted
    proto.data_received(b"".join(b"* %d EXPUNGE\r\n" % n for n in range(200)))
    assert transport.aborted
    with pytest.raises(Exception, match="flood of lines"):
        await asyncio.wait_for(task, 5)


async def test_an_over_long_line_drops_the_connection() -> None:
    """A line longer than max_line without CRLF aborts the transport and fails the command."""
    proto, transport = await _selected_protocol()
    task = asyncio.ensure_future(proto.search("ALL", charset=None))
    await asyncio.sleep(0)
    proto.data_received(b"* SEARCH " + b"1 " * 1000)
    assert not transport.aborted
    proto.data_received(b"1 " * 1100)
    assert transport.aborted
    with pytest.raises(Exception, match="response line over 4096 bytes"):
        await asyncio.wait_for(task, 5)


async def test_a_literal_outside_fetch_over_the_line_cap_drops_the_connection() -> None:
    """A {999999999} literal in a SEARCH response is refused at once, nothing buffered."""
    proto, transport = await _selected_protocol()
    task = asyncio.ensure_future(proto.search("ALL", charset=None))
    await asyncio.sleep(0)
    proto.data_received(b"* SEARCH {999999999}\r\n" + b"1" * 100_000)
    assert transport.aborted and len(proto._buf) == 0
    with pytest.raises(Exception, match="literal of 999999999 bytes"):
        await asyncio.wait_for(task, 5)


async def test_a_wrong_tag_fails_without_the_command_text() -> None:
    """LOGIN answered with an unknown tag fails the command; the error holds no password."""
    loop = asyncio.get_running_loop()
    proto = _BoundedProtocol(loop, None, LIMITS)
    transport = _Transport()
    proto.connection_made(transport)
    proto.state = "NONAUTH"
    task = asyncio.ensure_future(proto.login("user", "Pa55-wrong-tag"))
    await asyncio.sleep(0)
    proto.data_received(b"ZZZ1 OK LOGIN completed\r\n")
    assert transport.aborted
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(task, 5)
    assert "Pa55-wrong-tag" not in str(info.value) and "LOGIN" not in str(info.value)


async def test_a_bye_greeting_fails_at_once() -> None:
    """A server greeting with BYE is a failed connection, not a wait for a state change."""
    loop = asyncio.get_running_loop()
    proto = _BoundedProtocol(loop, None, LIMITS)
    transport = _Transport()
    proto.connection_made(transport)
    proto.data_received(b"* BYE not today\r\n")
    assert transport.aborted and "BYE" in str(proto.failure)


async def test_connection_lost_fails_pending_commands_at_once() -> None:
    """A command pending when the connection drops fails now, not at its timeout."""
    proto, _ = await _selected_protocol()
    task = asyncio.ensure_future(proto.search("ALL", charset=None))
    await asyncio.sleep(0)
    proto.connection_lost(None)
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(task, 1)


def _feed_like_a_transport(proto: _BoundedProtocol, wire: bytes, piece: int) -> None:
    """What asyncio's buffered read path does: read into get_buffer(), then buffer_updated()."""
    pos = 0
    while pos < len(wire) and not proto.failure:
        buf = proto.get_buffer(-1)
        n = min(len(buf), piece, len(wire) - pos)
        buf[:n] = wire[pos : pos + n]
        pos += n
        proto.buffer_updated(n)


@pytest.mark.parametrize("piece", [7, 4096, 1 << 20])
async def test_literals_read_into_their_buffer_arrive_whole_however_the_reads_fall(
    piece: int,
) -> None:
    """Bodies read straight into their literal buffer come back byte for byte, whatever the
    read boundaries (a CRLF split between two reads included)."""
    proto, transport = await _selected_protocol(
        Limits(max_line=4096, max_literal=1 << 20, max_response=1 << 21)
    )
    bodies = [bytes(range(256)) * 800, b"\r\n" * 3000, b"", b"x\r"]  # 200 KiB: read in place
    wire = b"".join(
        b"* %d FETCH (UID %d RFC822.SIZE %d BODY[] {%d}\r\n" % (n, n, len(b), len(b)) + b + b")\r\n"
        for n, b in enumerate(bodies, 1)
    )
    task = asyncio.ensure_future(proto.uid("fetch", "1:4", "(UID BODY.PEEK[])"))
    await asyncio.sleep(0)
    _feed_like_a_transport(proto, wire + _tag(transport) + b" OK done\r\n", piece)
    resp = await asyncio.wait_for(task, 5)
    assert [lit for _, lit in parse_fetch(resp.lines)] == bodies
    assert not transport.aborted


async def test_a_long_fetch_response_never_uses_aioimaplibs_per_line_rescan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """5,000 FETCH items in small reads are parsed without FetchCommand.wait_data, which joins
    the whole response so far on every line (quadratic in the response)."""

    def rescan(self: Any) -> bool:
        raise AssertionError("FetchCommand.wait_data called")

    monkeypatch.setattr(aioimaplib.aioimaplib.FetchCommand, "wait_data", rescan)
    limits = Limits(max_line=8 << 20, max_literal=25 << 20, max_response=25 << 20)
    proto, transport = await _selected_protocol(limits)
    wire = b"".join(
        b'* %d FETCH (UID %d RFC822.SIZE 100 INTERNALDATE "25-Nov-2026 20:12:34 +0000")\r\n'
        % (n, n)
        for n in range(1, 5001)
    )
    task = asyncio.ensure_future(proto.uid("fetch", "1:5000", "(UID RFC822.SIZE INTERNALDATE)"))
    await asyncio.sleep(0)
    _feed_like_a_transport(proto, wire + _tag(transport) + b" OK done\r\n", 1000)
    resp = await asyncio.wait_for(task, 5)
    assert [info.uid for info, _ in parse_fetch(resp.lines)] == list(range(1, 5001))
    assert not transport.aborted
