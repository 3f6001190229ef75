"""The archive record: what the worker writes for a message and what reprocess reads back."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bounce_stream.detection import parse
from bounce_stream.publishing.archive import (
    MAX_INFLATED_BYTES,
    ArchiveFormatError,
    Origin,
    archive_record,
    fingerprint_of,
    read_archived,
)
from bounce_stream.publishing.kafka import RECORD_OVERHEAD, archive_topic_config
from bounce_stream.settings import KafkaSettings
from tests.integration.pipeline import make_dsn

RECEIVED = datetime(2026, 11, 25, 10, 0, 1, 234000, tzinfo=UTC)
INTERNAL = datetime(2026, 11, 25, 11, 0, 0, tzinfo=timezone(timedelta(hours=1)))
ORIGIN = Origin("imap://u@h:993/INBOX", 42, 7, RECEIVED, INTERNAL)


def test_a_message_round_trips_with_its_origin() -> None:
    """A record reads back as the same bytes, fingerprint, mailbox, UIDs and times."""
    raw = make_dsn("gone@example.org")
    rec = archive_record("t.archive", "mid:<x@y>", raw, ORIGIN, 1 << 20)
    assert rec.topic == "t.archive" and rec.key == b"mid:<x@y>"
    back = read_archived(rec.key, rec.value, rec.headers)
    assert back.raw == raw and back.fingerprint == "mid:<x@y>"
    assert back.origin == ORIGIN and back.size == len(raw) and not back.truncated


def test_the_value_is_plain_gzip_with_readable_headers() -> None:
    """Any consumer reads a record with gunzip and the ASCII headers; no bounce-stream code."""
    raw = make_dsn("gone@example.org") * 20
    rec = archive_record("t", "sha256:ab", raw, ORIGIN, 1 << 20)
    assert rec.value is not None and gzip.decompress(rec.value) == raw
    assert len(rec.value) < len(raw) / 5  # bounces compress well
    headers = {name: value.decode() for name, value in rec.headers}
    assert headers == {
        "bounce-stream-archive": "1",
        "content-encoding": "gzip",
        "mailbox": "imap://u@h:993/INBOX",
        "uid": "42",
        "uidvalidity": "7",
        "received-at": "2026-11-25T10:00:01.234+00:00",
        "internal-date": "2026-11-25T10:00:00.000+00:00",
        "size": str(len(raw)),
        "truncated": "false",
    }


def test_same_message_gives_the_same_record_bytes() -> None:
    """Compression is deterministic (no timestamp in the gzip header)."""
    raw = make_dsn("gone@example.org")
    first = archive_record("t", "k", raw, ORIGIN, 1 << 20)
    second = archive_record("t", "k", raw, ORIGIN, 1 << 20)
    assert first.value == second.value


def test_a_message_over_the_cap_is_archived_truncated_and_says_so() -> None:
    """Only the first max_bytes are kept; headers say truncated and give the whole size."""
    raw = make_dsn("gone@example.org") + b"x" * 5000
    rec = archive_record("t", "k", raw, ORIGIN, 2048)
    assert dict(rec.headers)["truncated"] == b"true"
    back = read_archived(rec.key, rec.value, rec.headers)
    assert back.raw == raw[:2048] and back.truncated and back.size == len(raw)


def test_a_message_without_internal_date_has_no_such_header() -> None:
    """A server that sent no INTERNALDATE gives a record without the header, read as None."""
    origin = Origin("m", 1, 1, RECEIVED)
    rec = archive_record("t", "k", b"Subject: x\n\nbody\n", origin, 4096)
    assert "internal-date" not in dict(rec.headers)
    assert read_archived(rec.key, rec.value, rec.headers).origin.internal_date is None


def test_fallback_fingerprint_is_the_one_detection_gives_without_message_id() -> None:
    """A message detection never finished is keyed as detection keys a Message-ID-less one."""
    raw = b"\r\n".join(
        line
        for line in make_dsn("gone@example.org").split(b"\r\n")
        if b"Message-ID: <dsn" not in line
    )
    result = parse(raw)
    assert result.fingerprint.startswith("sha256:")
    assert fingerprint_of(raw) == result.fingerprint


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda h: {**h, "bounce-stream-archive": b"2"}, "not an archive", id="format"),
        pytest.param(lambda h: {**h, "content-encoding": b"zstd"}, "gzip", id="encoding"),
        pytest.param(lambda h: {**h, "uid": b"-1"}, "uid", id="uid"),
        pytest.param(lambda h: {**h, "received-at": b"yesterday"}, "ISO 8601", id="time"),
        pytest.param(lambda h: {k: v for k, v in h.items() if k != "size"}, "size", id="size"),
        pytest.param(lambda h: {**h, "mailbox": b"m" * 5000}, "longer", id="long-header"),
    ],
)
def test_a_record_with_bad_headers_is_refused(change: object, message: str) -> None:
    """A record that is not ours (or is damaged) raises ArchiveFormatError naming the field."""
    assert callable(change)
    rec = archive_record("t", "k", b"Subject: x\n\nbody\n", ORIGIN, 4096)
    headers = list(change(dict(rec.headers)).items())
    with pytest.raises(ArchiveFormatError, match=message):
        read_archived(rec.key, rec.value, headers)


def test_a_value_that_is_not_gzip_or_is_cut_is_refused() -> None:
    """Garbage and a gzip stream cut short are format errors, not crashes."""
    rec = archive_record("t", "k", b"Subject: x\n\n" + bytes(range(256)) * 50, ORIGIN, 1 << 20)
    assert rec.value is not None
    with pytest.raises(ArchiveFormatError, match="not gzip"):
        read_archived(rec.key, b"plain text", rec.headers)
    with pytest.raises(ArchiveFormatError, match="incomplete"):
        read_archived(rec.key, rec.value[: len(rec.value) // 2], rec.headers)


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    """A value inflating past the largest allowed archive size is refused."""
    bomb = gzip.compress(b"\0" * (MAX_INFLATED_BYTES + 1))
    rec = archive_record("t", "k", b"Subject: x\n\n", ORIGIN, 4096)
    with pytest.raises(ArchiveFormatError, match="inflates past"):
        read_archived(rec.key, bomb, rec.headers)


def test_service_creates_the_archive_compacted_and_time_retained() -> None:
    """Created by the service: compact,delete with the configured retention, room for a record."""
    kafka = KafkaSettings(archive_topic="a", archive_max_bytes=2 << 20, archive_retention_days=30)
    assert archive_topic_config(kafka) == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(30 * 86_400_000),
        "max.message.bytes": str((2 << 20) + RECORD_OVERHEAD),
    }
    forever = KafkaSettings(archive_topic="a", archive_retention_days=None)
    assert archive_topic_config(forever)["cleanup.policy"] == "compact"
    assert "retention.ms" not in archive_topic_config(forever)


@pytest.mark.parametrize("size", [1023, 8 * 1024 * 1024 + 1])
def test_archive_cap_is_bounded(size: int) -> None:
    """kafka.archive_max_bytes stays between 1 KiB and 8 MiB (what a reader accepts)."""
    with pytest.raises(ValidationError, match="archive_max_bytes"):
        KafkaSettings(archive_max_bytes=size)
