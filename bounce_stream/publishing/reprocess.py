"""``bounce-stream reprocess --from-archive``: classify the archive again, exactly once.

Each archived message is classified with the detector of this version and its events are
published with their original ``event_id`` (downstream deduplicates or upserts on it), in
Kafka transactions that also commit the reader's progress: the archive offsets, as the
consumer group's committed offsets (``send_offsets_to_transaction``). Killed at any point
and run again with the same group, it resumes after the last committed transaction, so each
archive record's events reach the target topic exactly once for ``read_committed`` readers.

Start-up order matters, as in the suppression processor: the transactional producer starts
first (which aborts a previous run's open transaction and fences that run), and only then
are the committed offsets read. The run ends at the end offsets (last stable offsets) taken
at start; records archived meanwhile are left for the next run of the same group.

An event is the one the service would publish for the message today: same ``mailbox``,
``uid``, ``uidvalidity`` and ``detected_at`` (the time the service read the message, so time
windows downstream stay true), classification fields from the current detector. For a
message archived whole, detection recomputes its fingerprint from the same bytes; for one
archived truncated the archive key (the fingerprint the service used) is taken instead, so
the ids are the original ones either way.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from bounce_stream.classifying import ClassifyFailure, ClassifyPool, Outcome
from bounce_stream.encoding.avro import Encoder, make_encoder
from bounce_stream.encoding.registry import SchemaRegistryClient, value_subject
from bounce_stream.encoding.schemas import get_schema
from bounce_stream.events import Source, event_records
from bounce_stream.publishing.archive import ArchivedMessage, ArchiveFormatError, read_archived
from bounce_stream.publishing.kafka import (
    RECORD_OVERHEAD,
    KafkaUnavailable,
    OutRecord,
    TopicsMissing,
    client_options,
    create_missing_topics,
    topic_partitions,
    unavailable,
)
from bounce_stream.publishing.processing import PartitionTransactions
from bounce_stream.settings import Settings

DEFAULT_BATCH_RECORDS = 200
_POLL_MS = 500
_AGE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: an ISO 8601 date or time (UTC unless it says otherwise), or an age
    before ``now`` such as ``90m``, ``36h``, ``7d``, ``2w``. ValueError when it is neither."""
    text = text.strip()
    age = _AGE.match(text.lower())
    try:
        if age is not None:
            return now - timedelta(seconds=float(age.group(1)) * _UNIT_SECONDS[age.group(2)])
        when = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text[:40]!r} is neither an ISO 8601 date/time nor an age like 7d or 36h"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def default_group_id(settings: Settings, archive_topic: str, to_topic: str) -> str:
    """The consumer group that holds the progress of a replay from ``archive_topic`` into
    ``to_topic`` (and names its transactional.id)."""
    return f"{settings.kafka.transactional_id_prefix}-reprocess:{archive_topic}:{to_topic}"


@dataclass(slots=True)
class ReplayStats:
    """What one run did."""

    records: int = 0  # archive records read, up to the end offsets taken at start
    reclassified: int = 0  # of them classified again
    events: int = 0  # events published
    not_bounce: int = 0  # classified, and no bounce
    failed: int = 0  # detection failed (timeout, crash, unreadable) or events unencodable
    truncated: int = 0  # archived truncated (classified all the same)
    unreadable: int = 0  # records that are no archived message (skipped)
    before_since: int = 0  # records older than --since (skipped)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """One finished run: what it did, from where to where, under which group."""

    stats: ReplayStats
    archive_topic: str
    target: str
    group_id: str
    resumed: bool  # the group had committed progress (a run killed before, or an earlier one)

    def summary(self, elapsed: float) -> str:
        stats = self.stats
        rate = stats.records / elapsed if elapsed > 0 else math.inf
        parts = [
            f"reprocess: {stats.records} archive record(s) read from {self.archive_topic} in "
            f"{elapsed:.1f} s ({rate:.0f}/s)"
            + (" (resumed from the group's committed progress)" if self.resumed else ""),
            f"{stats.reclassified} reclassified",
            f"{stats.events} event(s) published to {self.target}",
            f"{stats.not_bounce} not bounce(s)",
            f"{stats.failed} failed",
            f"{stats.truncated} truncated",
            f"{stats.unreadable} unreadable",
            f"{stats.before_since} before --since",
        ]
        return ", ".join(parts) + f"; progress kept by consumer group {self.group_id!r}"


@dataclass(frozen=True, slots=True)
class Replayed:
    """The outcome of one archived message classified again."""

    events: list[dict[str, Any]]
    error: str | None = None


def replay(archived: ArchivedMessage, outcome: Outcome) -> Replayed:
    """The event records of ``archived`` classified again (``outcome``), with the ids its
    original events carried; or the reason it gives none."""
    if isinstance(outcome, ClassifyFailure):
        return Replayed([], f"{outcome.cause}: {outcome.error}")
    if outcome.error:
        return Replayed([], outcome.error)
    if archived.truncated:
        outcome = dataclasses.replace(outcome, fingerprint=archived.fingerprint)
    origin = archived.origin
    source = Source(origin.mailbox, origin.uid, origin.uidvalidity, origin.received_at)
    try:
        return Replayed(event_records(outcome, source))
    except ValueError as exc:  # UnpublishableRecipient
        return Replayed([], str(exc))


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_line(done: int, total: int, records: int, elapsed: float) -> str:
    """``records`` read so far; ``done`` of ``total`` offsets covered (ETA when known)."""
    rate = records / elapsed if elapsed > 0 else 0.0
    line = f"reprocess: {records} message(s), {rate:.0f}/s"
    if total > 0:
        share = min(done, total) / total
        line += f", {100 * share:.1f} % of the archive to its end offsets"
        if 0 < done < total and elapsed > 0:
            eta = (total - done) * elapsed / done
            line += f", ETA {format_duration(eta)}"
    return line


Progress = Callable[[int, int, ReplayStats], None]


async def _event_encoder(settings: Settings, topic: str) -> Encoder:
    """BounceEvent encoder for ``topic``: Confluent framing when a registry is configured
    (schema registered under ``<topic>-value``), single-object encoding otherwise."""
    schema = get_schema("bounce_event")
    if settings.schema_registry.url is None:
        return make_encoder(schema)
    client = SchemaRegistryClient.from_settings(settings.schema_registry)
    return make_encoder(schema, await client.register(value_subject(topic), schema))


class _ArchiveReader:
    """A read_committed reader of every partition of the archive, from the group's committed
    offsets (or ``since``, or the beginning) to the end offsets taken at :meth:`start`."""

    def __init__(self, settings: Settings, topic: str, group_id: str) -> None:
        self._settings = settings
        self.topic = topic
        self.group_id = group_id
        self._consumer = AIOKafkaConsumer(
            **client_options(settings.kafka),
            group_id=group_id,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            # One whole archive record per partition fetch, however large it was allowed to be.
            max_partition_fetch_bytes=max(
                1024 * 1024, settings.kafka.archive_max_bytes + RECORD_OVERHEAD
            ),
        )
        # No position moved for this long: give up instead of waiting for ever.
        self._stall_seconds = settings.kafka.transaction_timeout_ms / 1000 + 30
        self._moved_at = time.monotonic()
        self.start_offsets: dict[TopicPartition, int] = {}
        self.end_offsets: dict[TopicPartition, int] = {}
        self.positions: dict[TopicPartition, int] = {}  # next offset, as far as handed out
        self.resumed = False

    async def start(self, since: datetime | None) -> None:
        parts = await topic_partitions(self._settings.kafka, self.topic)
        tps = [TopicPartition(self.topic, p) for p in parts]
        consumer = self._consumer
        await consumer.start()
        consumer.assign(tps)
        # read_committed: the last stable offsets; an open transaction is not waited for.
        self.end_offsets = dict(await consumer.end_offsets(tps))
        beginnings = await consumer.beginning_offsets(tps)
        by_time: dict[TopicPartition, Any] = {}
        if since is not None:
            stamp = int(since.timestamp() * 1000)
            by_time = await consumer.offsets_for_times({tp: stamp for tp in tps})
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is not None:
                self.resumed = True
                start = int(committed)
            elif since is not None:
                found = by_time.get(tp)
                start = self.end_offsets[tp] if found is None else int(found.offset)
            else:
                start = int(beginnings[tp])
            start = max(start, int(beginnings[tp]))
            consumer.seek(tp, start)
            self.start_offsets[tp] = start
            self.positions[tp] = start

    @property
    def total(self) -> int:
        return sum(max(0, self.end_offsets[tp] - s) for tp, s in self.start_offsets.items())

    @property
    def done(self) -> int:
        return sum(
            max(0, min(self.positions[tp], self.end_offsets[tp]) - self.start_offsets[tp])
            for tp in self.start_offsets
        )

    def remaining(self) -> list[TopicPartition]:
        return [tp for tp in self.positions if self.positions[tp] < self.end_offsets[tp]]

    async def next_batch(self, max_records: int) -> list[Any]:
        """The next records before the end offsets (possibly none); :attr:`positions` moves on
        past them (and past transaction markers and aborted records)."""
        consumer = self._consumer
        wanted = self.remaining()
        batch = await consumer.getmany(*wanted, timeout_ms=_POLL_MS, max_records=max_records)
        out: list[Any] = []
        before = dict(self.positions)
        for tp in wanted:
            msgs = batch.get(tp, [])
            end = self.end_offsets[tp]
            out.extend(m for m in msgs if m.offset < end)
            # Everything before the position was handed out: committing it loses nothing.
            self.positions[tp] = min(max(int(await consumer.position(tp)), self.positions[tp]), end)
        now = time.monotonic()
        if self.positions != before:
            self._moved_at = now
        elif now - self._moved_at > self._stall_seconds:
            stuck = ", ".join(
                f"{tp.partition} at {self.positions[tp]} of {self.end_offsets[tp]}"
                for tp in self.remaining()
            )
            raise KafkaUnavailable(
                f"reading {self.topic} made no progress for {self._stall_seconds:g} s "
                f"(partition {stuck})"
            )
        return out

    async def stop(self) -> None:
        await self._consumer.stop()


class _Batches:
    """Turns the archive records of one read into the event records of one transaction."""

    def __init__(
        self, pool: ClassifyPool, encoder: Encoder, target: str, since: datetime | None
    ) -> None:
        self._pool = pool
        self._encoder = encoder
        self._headers = tuple(encoder.headers())
        self._target = target
        self._since_ms = None if since is None else since.timestamp() * 1000
        self.stats = ReplayStats()

    async def records(self, messages: list[Any]) -> list[OutRecord]:
        stats = self.stats
        archived: list[ArchivedMessage] = []
        for msg in messages:
            stats.records += 1
            if self._since_ms is not None and msg.timestamp < self._since_ms:
                stats.before_since += 1
                continue
            try:
                archived.append(read_archived(msg.key, msg.value, tuple(msg.headers or ())))
            except ArchiveFormatError:
                stats.unreadable += 1
        outcomes = await self._pool.classify_all([a.raw for a in archived])
        out: list[OutRecord] = []
        for item, outcome in zip(archived, outcomes, strict=True):
            stats.reclassified += 1
            stats.truncated += item.truncated
            encoded = self._encode(replay(item, outcome))
            out.extend(encoded)
            stats.events += len(encoded)
        return out

    def _encode(self, replayed: Replayed) -> list[OutRecord]:
        try:
            encoded = [
                OutRecord(
                    self._target,
                    rec["recipient"].encode(),
                    self._encoder.encode(rec),
                    self._headers,
                )
                for rec in replayed.events
            ]
        except Exception:  # a value no schema field can hold: this message only
            encoded, replayed = [], Replayed([], "unencodable")
        if replayed.error is not None:
            self.stats.failed += 1
        elif not encoded:
            self.stats.not_bounce += 1
        return encoded


async def reprocess(
    settings: Settings,
    *,
    to_topic: str | None = None,
    since: datetime | None = None,
    group_id: str | None = None,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    progress: Progress | None = None,
) -> ReplayReport:
    """Replay ``kafka.archive_topic`` into ``to_topic`` (default: the events topic)."""
    kafka = settings.kafka
    archive_topic = kafka.archive_topic
    if archive_topic is None:
        raise TopicsMissing("kafka.archive_topic is not configured: there is no archive to read")
    target = to_topic or kafka.events_topic
    group = group_id or default_group_id(settings, archive_topic, target)
    await create_missing_topics(kafka, {target: {}}, f"create {target}")
    transactions = PartitionTransactions(kafka, f"{kafka.transactional_id_prefix}:{group}")
    reader = _ArchiveReader(settings, archive_topic, group)
    pool = ClassifyPool(
        settings.parse_options(),
        workers=settings.detection.workers,
        timeout=settings.detection.timeout_seconds,
    )
    batches = _Batches(pool, await _event_encoder(settings, target), target, since)
    try:
        await pool.start()  # its processes come up while Kafka is set up
        # The producer first: it aborts and fences a killed run's open transaction, so the
        # committed offsets read next are final.
        await transactions.start()
        await reader.start(since)
        committed = dict(reader.positions)
        while reader.remaining():
            records = await batches.records(await reader.next_batch(batch_records))
            offsets = {
                (tp.topic, tp.partition): pos
                for tp, pos in reader.positions.items()
                if pos > committed[tp]
            }
            if records or offsets:
                await transactions.commit(records, offsets, group)
                committed.update({TopicPartition(t, p): o for (t, p), o in offsets.items()})
            if progress is not None:
                progress(reader.done, reader.total, batches.stats)
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(kafka, "reprocess", exc) from None
    finally:
        await pool.stop()
        await reader.stop()
        await transactions.stop()
    return ReplayReport(batches.stats, archive_topic, target, group, reader.resumed)
