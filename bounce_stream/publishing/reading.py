"""Reading our own topics back: tail the events topic, list the compacted checkpoints."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from bounce_stream.publishing.kafka import (
    KafkaUnavailable,
    client_options,
    topic_partitions,
    unavailable,
)
from bounce_stream.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


async def tail(
    settings: KafkaSettings,
    topic: str,
    *,
    from_beginning: bool,
    idle_timeout: float | None,
    limit: int | None,
) -> AsyncIterator[ConsumedRecord]:
    """Committed records of ``topic`` (read_committed, no consumer group, nothing committed).

    Stops after ``limit`` records, or once nothing arrived for ``idle_timeout`` seconds.
    """
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    try:
        parts = await topic_partitions(settings, topic)
        await consumer.start()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        seen = 0
        last = time.monotonic()
        while limit is None or seen < limit:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                if idle_timeout is not None and time.monotonic() - last >= idle_timeout:
                    return
                continue
            last = time.monotonic()
            for tp in sorted(batch, key=lambda t: t.partition):
                for msg in batch[tp]:
                    yield ConsumedRecord(
                        msg.topic,
                        msg.partition,
                        msg.offset,
                        msg.timestamp,
                        msg.key,
                        msg.value,
                        tuple(msg.headers or ()),
                    )
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka consumer", exc) from None
    finally:
        await consumer.stop()


async def latest_by_key(
    settings: KafkaSettings,
    topic: str,
    *,
    partitions: list[int] | None = None,
    timeout: float = 30.0,
) -> dict[bytes, bytes | None]:
    """The last committed value per key in a (compacted) topic; None for a tombstone.

    Reads to each partition's high watermark (taken read_uncommitted) with a read_committed
    consumer, so a value from an aborted or still-open transaction is never returned.
    """
    chosen = await topic_partitions(settings, topic) if partitions is None else partitions
    probe = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    try:
        await probe.start()
        tps = [TopicPartition(topic, p) for p in chosen]
        high = await probe.end_offsets(tps)
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka consumer", exc) from None
    finally:
        await probe.stop()
    out: dict[bytes, bytes | None] = {}
    wanted = {tp: off for tp, off in high.items() if off > 0}
    if not wanted:
        return out
    reader = AIOKafkaConsumer(
        **client_options(settings), enable_auto_commit=False, isolation_level="read_committed"
    )
    deadline = time.monotonic() + timeout
    try:
        await reader.start()
        reader.assign(list(wanted))
        await reader.seek_to_beginning(*wanted)
        for tp, end in wanted.items():
            while await reader.position(tp) < end:
                if time.monotonic() > deadline:
                    raise KafkaUnavailable(
                        f"reading {topic}[{tp.partition}] to offset {end} timed out "
                        "(an open transaction of another writer may be holding it back)"
                    )
                batch = await reader.getmany(tp, timeout_ms=500)
                for msg in batch.get(tp, []):
                    if msg.key is not None:
                        out[msg.key] = msg.value
        return out
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka consumer", exc) from None
    finally:
        await reader.stop()
