"""Consume-transform-produce with aiokafka: a group consumer and per-partition transactions.

Zombie fencing follows the classic (pre-KIP-447) pattern aiokafka supports: one transactional
producer per *input partition*, ``transactional.id = <prefix>-<partition>``. Whoever owns events
partition p initialises that id first, which aborts a previous owner's open transaction and
fences it, and only then reads the committed offset and the state of p.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import InvalidProducerEpoch, KafkaError, ProducerFenced

from bounce_stream.publishing.kafka import (
    TOPIC_ALREADY_EXISTS,
    Fenced,
    KafkaUnavailable,
    OutRecord,
    TopicNotFound,
    TopicsMissing,
    client_options,
    quiet_abort,
    send_all,
    unavailable,
)
from bounce_stream.publishing.reading import ConsumedRecord
from bounce_stream.settings import KafkaSettings

PartitionsCallback = Callable[[list[int]], Awaitable[None]]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def ensure_copartitioned(
    settings: KafkaSettings, source: str, compacted: str, plain: str
) -> int:
    """Create ``compacted`` (cleanup.policy=compact, as many partitions as ``source``) and
    ``plain`` when missing and allowed; fail when ``compacted`` exists with another count.
    Returns the partition count of ``source``."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        if source not in existing:
            raise TopicNotFound(source)
        counts = {
            d["topic"]: len(d["partitions"])
            for d in await admin.describe_topics([t for t in (source, compacted) if t in existing])
        }
        partitions = counts[source]
        if compacted in counts and counts[compacted] != partitions:
            raise TopicsMissing(
                f"topic {compacted!r} has {counts[compacted]} partitions, {source!r} has "
                f"{partitions}: they must be equal (partition p of one holds the state of p)"
            )
        wanted = {compacted: {"cleanup.policy": "compact"}, plain: {}}
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return partitions
        if not settings.create_topics:
            raise TopicsMissing(
                f"Kafka topics missing: {', '.join(missing)} (kafka.create_topics is false)"
            )
        resp = await admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=partitions if name == compacted else settings.topic_partitions,
                    replication_factor=settings.replication_factor,
                    topic_configs=wanted[name],
                )
                for name in missing
            ]
        )
        failures = [
            f"{row[0]} error {row[1]}"
            for row in resp.topic_errors
            if row[1] not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failures:
            raise TopicsMissing("cannot create Kafka topics: " + "; ".join(failures))
        return partitions
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka admin", exc) from None
    finally:
        await admin.close()


class PartitionTransactions:
    """The transactional producer of one input partition."""

    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        self._settings = settings
        self.transactional_id = transactional_id
        self._producer: Any = None

    async def start(self) -> None:
        """Init transactions: fences the previous owner and aborts its open transaction."""
        producer = AIOKafkaProducer(
            **client_options(self._settings),
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self._settings.transaction_timeout_ms,
            enable_idempotence=True,
            acks="all",
        )
        try:
            async with asyncio.timeout(self._settings.transaction_deadline_seconds):
                await producer.start()
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            await _quiet_stop(producer)
            raise Fenced(_describe(exc)) from None
        except (TimeoutError, KafkaError, OSError) as exc:
            await _quiet_stop(producer)
            raise await unavailable(self._settings, "producer start", exc) from None
        self._producer = producer

    async def commit(
        self,
        records: Sequence[OutRecord],
        offsets: dict[tuple[str, int], int] | None = None,
        group_id: str | None = None,
    ) -> None:
        """``records`` and (if given) the group's next ``offsets`` in one transaction."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("producer not started")
        try:
            async with asyncio.timeout(self._settings.transaction_deadline_seconds):
                await producer.begin_transaction()
                try:
                    await send_all(producer, records)
                    if offsets:
                        await producer.send_offsets_to_transaction(
                            {TopicPartition(t, p): off for (t, p), off in offsets.items()},
                            group_id,
                        )
                    await producer.commit_transaction()
                except Exception:
                    await quiet_abort(producer)
                    raise
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            raise Fenced(_describe(exc)) from None
        except (TimeoutError, KafkaError, OSError) as exc:
            raise KafkaUnavailable(f"transaction: {_describe(exc)}") from None

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await _quiet_stop(producer)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, assigned: PartitionsCallback, revoked: PartitionsCallback) -> None:
        self._assigned = assigned
        self._revoked = revoked

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._revoked(sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._assigned(sorted(tp.partition for tp in assigned))


class GroupConsumer:
    """A read_committed group member on one topic that never commits by itself.

    ``assigned``/``revoked`` run inside the rebalance, but aiokafka may already fetch a newly
    assigned partition meanwhile: the assigned callback should :meth:`pause` it, and the
    caller set it up (fence, state, :meth:`seek_committed`) before it :meth:`resume`s it.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group_id: str,
        *,
        assigned: PartitionsCallback,
        revoked: PartitionsCallback,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3000,
    ) -> None:
        self._settings = settings
        self.topic = topic
        self.group_id = group_id
        self._listener = _Listener(assigned, revoked)
        self._consumer = AIOKafkaConsumer(
            **client_options(settings),
            group_id=group_id,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )

    async def start(self) -> None:
        try:
            await self._consumer.start()
            self._consumer.subscribe([self.topic], listener=self._listener)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise await unavailable(self._settings, "Kafka consumer", exc) from None

    def pause(self, partitions: Iterable[int]) -> None:
        """No records of ``partitions`` until :meth:`resume` (fetched ones are dropped)."""
        self._consumer.pause(*(TopicPartition(self.topic, p) for p in partitions))

    def resume(self, partitions: Iterable[int]) -> None:
        self._consumer.resume(*(TopicPartition(self.topic, p) for p in partitions))

    async def seek_committed(self, partition: int) -> int:
        """Position ``partition`` at the group's committed offset (0 when none)."""
        tp = TopicPartition(self.topic, partition)
        try:
            committed = await self._consumer.committed(tp)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise await unavailable(self._settings, "Kafka consumer", exc) from None
        offset = committed if committed is not None else 0
        self._consumer.seek(tp, offset)
        return int(offset)

    async def records_behind(self, partition: int) -> int | None:
        """Records between the position of ``partition`` and its end (the last stable offset,
        as read_committed sees it; commit markers are skipped, so 0 when caught up), from what
        the last fetch response said: no request. None while no fetch has answered yet."""
        tp = TopicPartition(self.topic, partition)
        if tp not in self._consumer.assignment():  # lost in a rebalance meanwhile
            return None
        end = self._consumer.last_stable_offset(tp)
        if end is None or end < 0:
            end = self._consumer.highwater(tp)
        if end is None:
            return None
        try:
            # No request while the position is valid (it is once seek_committed ran).
            position = await self._consumer.position(tp)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise await unavailable(self._settings, "Kafka consumer", exc) from None
        return max(0, int(end) - int(position))

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[int, list[ConsumedRecord]]:
        try:
            batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise await unavailable(self._settings, "Kafka consumer", exc) from None
        return {
            tp.partition: [
                ConsumedRecord(
                    m.topic,
                    m.partition,
                    m.offset,
                    m.timestamp,
                    m.key,
                    m.value,
                    tuple(m.headers or ()),
                )
                for m in msgs
            ]
            for tp, msgs in batch.items()
            if msgs
        }

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._consumer.stop(), timeout=10)


async def _quiet_stop(producer: Any) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), timeout=10)
