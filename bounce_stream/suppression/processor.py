"""`bounce-stream suppress`: the exactly-once loop around :mod:`.policy`.

Per batch of one events partition p, one Kafka transaction holds the new RecipientState
records (recipients topic, partition p), the SuppressionChanged records, and the group's next
offset for p (``send_offsets_to_transaction``). The state in memory is changed only after the
commit. On any Kafka error or fencing the whole session is torn down and built again: state
re-read from the recipients topic (read_committed, to the high watermark) and consumption
resumed from the committed offsets, so nothing is lost or emitted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bounce_stream.consumer import RecordDecoder
from bounce_stream.encoding import DecodeError, SchemaResolutionError, UnknownFingerprintError
from bounce_stream.encoding.registry import RegistryError, SchemaRegistryClient
from bounce_stream.encoding.schemas import fingerprint_display
from bounce_stream.http import ProbeServer
from bounce_stream.logs import get_logger
from bounce_stream.metrics import SuppressionMetrics
from bounce_stream.publishing.kafka import (
    Fenced,
    KafkaUnavailable,
    OutRecord,
    TopicsMissing,
    partition_for,
)
from bounce_stream.publishing.processing import (
    GroupConsumer,
    PartitionTransactions,
    ensure_copartitioned,
)
from bounce_stream.publishing.reading import ConsumedRecord, latest_by_key
from bounce_stream.settings import Settings, SuppressionSettings
from bounce_stream.suppression import codec
from bounce_stream.suppression.policy import Outcome, Policy, RecipientState, apply, release

PartitionState = dict[bytes, RecipientState]


class UnknownWriterSchema(Exception):
    """An event names a writer schema this version does not know: stop, do not skip it.

    Everything before it is committed, it is not: a version that knows the schema (a newer
    bounce-stream, which ships every released schema) starts exactly at this event.
    """

    log_event = "suppress_unknown_writer_schema"

    def __init__(
        self, fingerprint: str, topic: str, partition: int, offset: int, message: str = ""
    ) -> None:
        super().__init__(
            message
            or f"event at {topic} partition {partition} offset {offset} was written with Avro "
            f"schema fingerprint {fingerprint}, which this bounce-stream does not know (a newer "
            "release's?). Stopped without committing past it, so nothing is lost: upgrade "
            "`suppress` to the version that writes it (or one newer); it resumes at this event"
        )
        self.fingerprint = fingerprint
        self.topic = topic
        self.partition = partition
        self.offset = offset


class UnresolvableWriterSchema(UnknownWriterSchema):
    """An event of a known writer schema that Avro resolution cannot turn into this version's
    BounceEvent (e.g. an enum symbol added without an enum default): stop at it like at an
    unknown writer. Skipping it, as undecodable bytes are skipped, would lose its suppression
    across an upgrade."""

    log_event = "suppress_unresolvable_event"

    def __init__(
        self, problem: str, fingerprint: str, topic: str, partition: int, offset: int
    ) -> None:
        super().__init__(
            fingerprint,
            topic,
            partition,
            offset,
            f"event at {topic} partition {partition} offset {offset} does not fit this "
            f"bounce-stream's BounceEvent schema: {problem}. Stopped without committing past "
            "it, so nothing is lost: upgrade `suppress` to the version whose schema has what "
            "the event holds (the writer's release or newer); it resumes at this event",
        )
        self.problem = problem


def policy_of(settings: SuppressionSettings) -> Policy:
    return Policy(
        soft_threshold=settings.soft_threshold,
        soft_window=timedelta(days=settings.soft_window_days),
        suppress_on_hard=settings.suppress_on_hard,
        suppress_on_complaint=settings.suppress_on_complaint,
        release_on_delivered=settings.release_on_delivered,
    )


def transactional_id(prefix: str, partition: int) -> str:
    """The id that owns events partition ``partition`` (the CLI release uses it too)."""
    return f"{prefix}-suppress-{partition}"


async def load_state(settings: Settings, partition: int) -> PartitionState:
    """The committed RecipientState of every recipient in ``partition`` of the recipients topic."""
    decoder = codec.state_decoder()
    values = await latest_by_key(
        settings.kafka,
        settings.suppression.recipients_topic,
        partitions=[partition],
        timeout=settings.kafka.transaction_deadline_seconds * 4,
    )
    return {
        key: codec.state_from_record(decoder.decode(value))
        for key, value in values.items()
        if value is not None
    }


def out_records(
    settings: SuppressionSettings, partition: int, key: bytes, outcome: Outcome
) -> list[OutRecord]:
    """The records one outcome writes: the new state (partition ``partition``), the change."""
    out: list[OutRecord] = []
    if outcome.state is not None:
        enc = codec.state_encoder()
        out.append(
            OutRecord(
                settings.recipients_topic,
                key,
                enc.encode(codec.state_to_record(outcome.state)),
                tuple(enc.headers()),
                partition=partition,
            )
        )
    if outcome.change is not None:
        enc = codec.change_encoder()
        out.append(
            OutRecord(
                settings.suppressions_topic,
                key,
                enc.encode(codec.change_to_record(outcome.change)),
                tuple(enc.headers()),
            )
        )
    return out


@dataclass
class _Owned:
    producer: PartitionTransactions
    state: PartitionState = field(default_factory=dict)


class Processor:
    def __init__(self, settings: Settings, metrics: SuppressionMetrics) -> None:
        self._settings = settings
        self._cfg = settings.suppression
        self._policy = policy_of(settings.suppression)
        self._metrics = metrics
        registry = (
            SchemaRegistryClient.from_settings(settings.schema_registry)
            if settings.schema_registry.url
            else None
        )
        self._decoder = RecordDecoder(registry=registry)
        self._owned: dict[int, _Owned] = {}
        self._pending: set[int] = set()
        # Held while batches are processed: a revocation (run by the consumer's rebalance
        # task) waits for the transaction in flight instead of stopping its producer under it.
        self._processing = asyncio.Lock()
        self._consumer: GroupConsumer | None = None
        self._log = get_logger()
        self.up = False

    def not_ready(self) -> list[str]:
        """For /readyz: empty while a session (group member, producers) is up."""
        return [] if self.up else ["suppress: not connected to Kafka"]

    async def run(self, stop: asyncio.Event) -> None:
        """Sessions until ``stop`` is set; a failed session is retried with back-off."""
        kafka = self._settings.kafka
        delay = kafka.retry_initial_seconds
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = kafka.retry_initial_seconds
            except (TopicsMissing, UnknownWriterSchema):
                raise
            except (KafkaUnavailable, Fenced) as exc:
                self._log.warning("suppress_session_failed", error=str(exc), retry_in_s=delay)
                self._metrics.transactions.labels("aborted").inc()
            finally:
                await self._teardown()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, kafka.retry_max_seconds)

    async def _session(self, stop: asyncio.Event) -> None:
        kafka = self._settings.kafka
        await ensure_copartitioned(
            kafka, kafka.events_topic, self._cfg.recipients_topic, self._cfg.suppressions_topic
        )
        self._consumer = GroupConsumer(
            kafka,
            kafka.events_topic,
            self._cfg.group_id,
            assigned=self._assigned,
            revoked=self._revoked,
            session_timeout_ms=self._cfg.session_timeout_ms,
            heartbeat_interval_ms=self._cfg.heartbeat_interval_ms,
        )
        await self._consumer.start()
        self.up = True
        self._log.info("suppress_started", group=self._cfg.group_id, topic=kafka.events_topic)
        while not stop.is_set():
            if self._pending:
                await self._set_up_pending()
            batch = await self._consumer.getmany(500, self._cfg.batch_max_records)
            async with self._processing:
                for partition in sorted(batch):
                    if partition in self._owned and partition not in self._pending:
                        # Records of a partition not (yet) set up are dropped: it is read
                        # again from its committed offset once set up.
                        await self._process(partition, batch[partition])
            await self._update_lag()

    async def _assigned(self, partitions: list[int]) -> None:
        # Only noted (and paused) here: set up in the loop, before the next fetch is used.
        assert self._consumer is not None
        self._pending.update(partitions)
        self._consumer.pause(partitions)

    async def _set_up_pending(self) -> None:
        assert self._consumer is not None
        prefix = self._settings.kafka.transactional_id_prefix
        for p in sorted(self._pending):
            self._pending.discard(p)
            old = self._owned.pop(p, None)
            if old is not None:
                await old.producer.stop()
            producer = PartitionTransactions(self._settings.kafka, transactional_id(prefix, p))
            await producer.start()  # fences a previous owner, aborts its open transaction
            started = time.monotonic()
            try:
                state = await load_state(self._settings, p)
            except BaseException:
                await producer.stop()
                raise
            took = time.monotonic() - started
            self._owned[p] = _Owned(producer, state)
            offset = await self._consumer.seek_committed(p)
            self._consumer.resume([p])
            self._metrics.rebuilds.inc()
            self._metrics.rebuild_duration.observe(took)
            self._log.info(
                "suppress_partition_assigned",
                partition=p,
                recipients=len(state),
                rebuild_s=round(took, 3),
                offset=offset,
            )
        self._update_gauges()

    async def _revoked(self, partitions: list[int]) -> None:
        async with self._processing:
            await self._drop(partitions)

    async def _drop(self, partitions: list[int]) -> None:
        self._pending.difference_update(partitions)
        for p in partitions:
            owned = self._owned.pop(p, None)
            if owned is not None:
                await owned.producer.stop()
            # Whoever owns it now reports its lag; a stale series here would double it.
            with contextlib.suppress(KeyError):
                self._metrics.lag.remove(str(p))
        self._update_gauges()

    async def _update_lag(self) -> None:
        """Records behind the end, per set-up partition: from the consumer's last fetch
        response (no request), so cheap enough after every poll."""
        assert self._consumer is not None
        for p in sorted(self._owned):
            if p in self._pending:
                continue
            behind = await self._consumer.records_behind(p)
            if behind is not None:
                self._metrics.lag.labels(str(p)).set(behind)

    async def _teardown(self) -> None:
        self.up = False
        self._pending.clear()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self._revoked(list(self._owned))

    async def _process(self, partition: int, records: list[ConsumedRecord]) -> None:
        owned = self._owned[partition]
        pending: PartitionState = {}
        out: list[OutRecord] = []
        changes: list[tuple[str, str]] = []
        counted = ignored = 0
        unknown: UnknownWriterSchema | None = None
        next_offset = records[-1].offset + 1
        for rec in records:
            if rec.value is None:
                ignored += 1
                continue
            try:
                event = await self._decoder.decode_async(rec.value, rec.headers)
            except RegistryError as exc:
                # Never skip an event for want of its schema: retry the batch later.
                raise KafkaUnavailable(f"schema registry: {exc}") from None
            except UnknownFingerprintError as exc:
                # Never skip it either: commit what came before, then stop (see serve()).
                unknown = UnknownWriterSchema(
                    fingerprint_display(exc.fingerprint), rec.topic, partition, rec.offset
                )
                next_offset = rec.offset
                break
            except SchemaResolutionError as exc:
                # Well-formed, but not readable as this version's BounceEvent: the same stop.
                unknown = UnresolvableWriterSchema(
                    str(exc),
                    fingerprint_display(exc.writer_fingerprint),
                    rec.topic,
                    partition,
                    rec.offset,
                )
                next_offset = rec.offset
                break
            except DecodeError as exc:
                ignored += 1
                self._log.warning(
                    "suppress_undecodable_event",
                    partition=partition,
                    offset=rec.offset,
                    error=str(exc),
                )
                continue
            key = rec.key if rec.key is not None else str(event["recipient"]).encode()
            current = pending.get(key) or owned.state.get(key)
            outcome = apply(self._policy, current, event)
            if outcome.state is None:
                ignored += 1
                continue
            counted += 1
            pending[key] = outcome.state
            if outcome.change is not None:
                changes.append((outcome.change.change, outcome.change.rule))
            out.extend(out_records(self._cfg, partition, key, outcome))
        if next_offset > records[0].offset:
            await owned.producer.commit(
                out,
                {(self._settings.kafka.events_topic, partition): next_offset},
                self._cfg.group_id,
            )
            owned.state.update(pending)
            self._metrics.transactions.labels("committed").inc()
        self._metrics.events_consumed.labels("counted").inc(counted)
        self._metrics.events_consumed.labels("ignored").inc(ignored)
        for change, rule in changes:
            self._metrics.changes.labels(change, rule).inc()
        self._update_gauges()
        if unknown is not None:
            self._log.error(
                unknown.log_event,
                error=str(unknown),
                fingerprint=unknown.fingerprint,
                topic=unknown.topic,
                partition=partition,
                offset=unknown.offset,
                action="stopped; upgrade suppress",
            )
            raise unknown

    def _update_gauges(self) -> None:
        states = [s for o in self._owned.values() for s in o.state.values()]
        self._metrics.recipients.set(len(states))
        self._metrics.suppressed.set(sum(1 for s in states if s.suppressed))


async def release_recipient(settings: Settings, address: str) -> Outcome:
    """Release ``address`` through its partition's transactional id (fencing the running owner,
    which then rebuilds its state from the recipients topic): the new state and, if it was
    suppressed, a SuppressionChanged ``released`` (rule ``manual``), in one transaction."""
    kafka = settings.kafka
    cfg = settings.suppression
    partitions = await ensure_copartitioned(
        kafka, kafka.events_topic, cfg.recipients_topic, cfg.suppressions_topic
    )
    key = address.strip().lower().encode()
    p = partition_for(key, partitions)
    producer = PartitionTransactions(kafka, transactional_id(kafka.transactional_id_prefix, p))
    await producer.start()  # the owner's open transaction is aborted: the state read is final
    try:
        state = (await load_state(settings, p)).get(key)
        outcome = release(state, key.decode(), datetime.now(UTC))
        await producer.commit(out_records(cfg, p, key, outcome))
    finally:
        await producer.stop()
    return outcome


async def serve(settings: Settings) -> None:
    """Run the processor (and /metrics, /healthz, /readyz) until SIGTERM or SIGINT."""
    metrics = SuppressionMetrics.create()
    processor = Processor(settings, metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    probes = None
    if settings.metrics.enabled:
        probes = ProbeServer(
            settings.metrics.host, settings.metrics.port, metrics.registry, processor.not_ready
        )
        await probes.start()
    try:
        await processor.run(stop)
    finally:
        if probes is not None:
            await probes.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
