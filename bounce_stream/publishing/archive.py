"""The raw archive: each fetched bounce as the IMAP server sent it, to classify again later.

The worker writes one record per fetched message that gave events or a dead letter (and,
with ``kafka.archive_not_bounces``, per message that gave neither), in the same transaction
as those events and the checkpoint; ``bounce-stream reprocess --from-archive`` reads them
back. One record:

- key: the message fingerprint its events' ids were derived from (``mid:<Message-ID>``, or
  ``sha256:<hex>`` over the transport-canonical bytes when it has none; see
  :func:`bounce_stream.detection.engine.transport_canonical`). A compacted archive keeps one
  copy per bounce, however often it was read.
- value: gzip (RFC 1952) of the message, or of its first ``kafka.archive_max_bytes`` bytes.
- headers (ASCII; the mailbox id is UTF-8): ``bounce-stream-archive`` (format, ``1``),
  ``content-encoding`` (``gzip``), ``mailbox``, ``uid``, ``uidvalidity``, ``internal-date``
  (the server's INTERNALDATE, ISO 8601; absent when the server sent none), ``received-at``
  (when the service read it: the ``detected_at`` of its events, ISO 8601 UTC), ``size`` (of
  the whole message, bytes) and ``truncated`` (``true`` when the value holds only a prefix).

Per-record gzip (standard library, no native dependency) keeps the producer's settings the
events share untouched, and any consumer can read a record with a gunzip.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bounce_stream.detection.engine import transport_canonical
from bounce_stream.detection.mime import normalise_newlines
from bounce_stream.publishing.kafka import OutRecord

FORMAT = b"1"
ENCODING = b"gzip"
# Reading never inflates a value past this (the largest archive_max_bytes allowed): a
# record written by someone else cannot make a reader hold more.
MAX_INFLATED_BYTES = 8 * 1024 * 1024
# gzip level 1: on the corpus a 1 MiB message compresses 4.0:1 at about a third of the CPU of
# level 6 (4.8:1); the event loop does this work (benchmarks/bench_archive.py).
COMPRESS_LEVEL = 1
# No header of ours is longer (the mailbox id is a user, a host and a folder name).
_MAX_HEADER_BYTES = 4096


class ArchiveFormatError(ValueError):
    """A record of the archive topic that is not an archived message of this format."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where and when the service read a message."""

    mailbox: str
    uid: int
    uidvalidity: int
    received_at: datetime
    internal_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArchivedMessage:
    """One archived message as read back."""

    fingerprint: str
    raw: bytes  # the message, or its first bytes when truncated
    origin: Origin
    size: int  # of the whole message
    truncated: bool


def fingerprint_of(raw: bytes) -> str:
    """The fingerprint detection gives ``raw`` when it has no Message-ID.

    The archive key of a message detection did not finish (timeout, crash), which therefore
    has no fingerprint from detection.
    """
    canonical = transport_canonical(normalise_newlines(raw))
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _stamp(value: datetime) -> bytes:
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").encode("ascii")


def archive_record(
    topic: str,
    fingerprint: str,
    raw: bytes,
    origin: Origin,
    max_bytes: int,
    *,
    level: int = COMPRESS_LEVEL,
) -> OutRecord:
    """The archive record of ``raw``: at most ``max_bytes`` of it, gzip-compressed."""
    kept = raw[:max_bytes]
    headers: list[tuple[str, bytes]] = [
        ("bounce-stream-archive", FORMAT),
        ("content-encoding", ENCODING),
        ("mailbox", origin.mailbox.encode("utf-8", "backslashreplace")),
        ("uid", str(origin.uid).encode("ascii")),
        ("uidvalidity", str(origin.uidvalidity).encode("ascii")),
        ("received-at", _stamp(origin.received_at)),
        ("size", str(len(raw)).encode("ascii")),
        ("truncated", b"true" if len(kept) < len(raw) else b"false"),
    ]
    if origin.internal_date is not None:
        headers.append(("internal-date", _stamp(origin.internal_date)))
    # mtime=0: the same message always compresses to the same bytes.
    value = gzip.compress(kept, compresslevel=level, mtime=0)
    return OutRecord(topic, fingerprint.encode("utf-8"), value, tuple(headers))


def _inflate(value: bytes, limit: int) -> bytes:
    """The gzip ``value`` inflated, refusing more than ``limit`` bytes (no bomb gets in)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(value, limit + 1)
    except zlib.error as exc:
        raise ArchiveFormatError(f"value is not gzip data ({exc})") from None
    if len(out) > limit:
        raise ArchiveFormatError(f"value inflates past {limit} bytes")
    if not inflater.eof:
        raise ArchiveFormatError("value is an incomplete gzip stream")
    return out


def _header_map(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        if len(value) > _MAX_HEADER_BYTES:
            raise ArchiveFormatError(f"header {name[:40]!r} is longer than {_MAX_HEADER_BYTES}")
        out[name] = value.decode("utf-8", "replace")
    return out


def _number(fields: dict[str, str], name: str) -> int:
    text = fields.get(name, "")
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ArchiveFormatError(f"header {name!r} is missing or not a number")
    return int(text)


def _when(fields: dict[str, str], name: str) -> datetime | None:
    text = fields.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ArchiveFormatError(f"header {name!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def read_archived(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> ArchivedMessage:
    """The archived message of one record; ArchiveFormatError when it is none."""
    fields = _header_map(headers)
    if fields.get("bounce-stream-archive") != FORMAT.decode():
        raise ArchiveFormatError("not an archive record (header bounce-stream-archive is not 1)")
    if fields.get("content-encoding") != ENCODING.decode():
        raise ArchiveFormatError("content-encoding is not gzip")
    if not key or value is None:
        raise ArchiveFormatError("record without key (fingerprint) or value")
    fingerprint = key.decode("utf-8", "replace")
    received_at = _when(fields, "received-at")
    if received_at is None:
        raise ArchiveFormatError("header 'received-at' is missing")
    origin = Origin(
        mailbox=fields.get("mailbox", ""),
        uid=_number(fields, "uid"),
        uidvalidity=_number(fields, "uidvalidity"),
        received_at=received_at,
        internal_date=_when(fields, "internal-date"),
    )
    raw = _inflate(value, MAX_INFLATED_BYTES)
    size = _number(fields, "size")
    truncated = fields.get("truncated") == "true"
    return ArchivedMessage(fingerprint, raw, origin, size, truncated or len(raw) < size)
