"""The checkpoint store's pure parts: the one checkpoint record, reset, and who owns a mailbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bounce_stream.publishing.checkpoints import CheckpointStore, Position, live_owner
from bounce_stream.publishing.kafka import OutRecord, partition_for
from bounce_stream.service import build_codecs
from bounce_stream.settings import KafkaSettings, Settings


@pytest.fixture
async def store() -> CheckpointStore:
    settings = Settings.model_validate(
        {
            "mailboxes": [{"name": "main", "host": "127.0.0.1", "username": "u", "password": "p"}],
            "instance": "pod-a",
        }
    )
    codecs = await build_codecs(settings)
    return CheckpointStore(
        settings.kafka, "mbx-1", codecs.checkpoint, codecs.decoder, settings.instance
    )


class _Publisher:
    """Stands in for the transactional producer: a topic of 6 partitions, records kept."""

    def __init__(self) -> None:
        self.published: list[list[OutRecord]] = []

    async def partitions(self, topic: str) -> int:
        return 6

    async def publish(self, records: list[OutRecord]) -> None:
        self.published.append(records)


def _decode(store: CheckpointStore, record: OutRecord) -> dict[str, object]:
    assert record.value is not None
    return store._decoder.decode(record.value)


def test_record_holds_the_position_in_the_checkpoint_partition(store: CheckpointStore) -> None:
    """The record carries the mailbox key, its partition, the encoder's headers and the position."""
    store.partition = 4
    record = store.record(Position(uidvalidity=7, last_uid=42), messages=3)
    value = _decode(store, record)
    assert record.topic == store._kafka.checkpoint_topic
    assert record.key == b"mbx-1" and record.partition == 4
    assert record.headers == tuple(store._encoder.headers())
    assert value["mailbox"] == "mbx-1" and value["instance"] == "pod-a"
    assert (value["uidvalidity"], value["last_uid"], value["messages"]) == (7, 42, 3)


async def test_reset_to_a_position_writes_a_record_marked_as_a_reset(
    store: CheckpointStore,
) -> None:
    """``checkpoint reset --uid`` writes one record, in the key's partition, naming the reset."""
    publisher = _Publisher()
    await store.reset(publisher, Position(uidvalidity=9, last_uid=100))  # type: ignore[arg-type]
    [[record]] = publisher.published
    value = _decode(store, record)
    assert record.partition == partition_for(b"mbx-1", 6)
    assert (value["uidvalidity"], value["last_uid"], value["messages"]) == (9, 100, 0)
    assert value["instance"] == "checkpoint-reset:pod-a"


async def test_reset_without_a_position_writes_a_tombstone(store: CheckpointStore) -> None:
    """``checkpoint reset`` without --uid deletes the checkpoint (a None value for the key)."""
    publisher = _Publisher()
    await store.reset(publisher, None)  # type: ignore[arg-type]
    [[record]] = publisher.published
    assert record.key == b"mbx-1" and record.value is None
    assert record.topic == store._kafka.checkpoint_topic
    assert record.partition == partition_for(b"mbx-1", 6)


_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _value(instance: str, seconds_ago: float) -> dict[str, object]:
    return {"instance": instance, "committed_at": _NOW - timedelta(seconds=seconds_ago)}


def test_live_owner_is_another_instance_that_committed_recently() -> None:
    """Another instance's checkpoint within two heartbeats makes it the live owner."""
    kafka = KafkaSettings(checkpoint_heartbeat_seconds=60)
    assert live_owner(_value("pod-b", 119), "pod-a", kafka, _NOW) == "pod-b"


def test_an_owner_quiet_for_two_heartbeats_is_not_alive() -> None:
    """Past two heartbeats without a commit, the mailbox may be taken back."""
    kafka = KafkaSettings(checkpoint_heartbeat_seconds=60)
    assert live_owner(_value("pod-b", 121), "pod-a", kafka, _NOW) is None


def test_the_live_window_is_at_least_thirty_seconds() -> None:
    """A short heartbeat still leaves the owner 30 s before it counts as gone."""
    kafka = KafkaSettings(checkpoint_heartbeat_seconds=1)
    assert live_owner(_value("pod-b", 29), "pod-a", kafka, _NOW) == "pod-b"
    assert live_owner(_value("pod-b", 31), "pod-a", kafka, _NOW) is None


def test_our_own_checkpoint_or_none_means_no_other_owner() -> None:
    """Our own recent checkpoint, or no checkpoint at all, never makes us stand by."""
    kafka = KafkaSettings()
    assert live_owner(_value("pod-a", 0), "pod-a", kafka, _NOW) is None
    assert live_owner(None, "pod-a", kafka, _NOW) is None
