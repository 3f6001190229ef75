"""One mailbox's checkpoint in the compacted checkpoint topic: read it, write it, reset it.

The checkpoint (UIDVALIDITY, last UID) lives only in Kafka. It is written in the same
transaction as the events it covers (the worker) or alone through the mailbox's own
transactional.id (``bounce-stream checkpoint reset``); both build the record here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bounce_stream.encoding.avro import Decoder, Encoder
from bounce_stream.publishing.kafka import OutRecord, TransactionalPublisher, partition_for
from bounce_stream.publishing.reading import latest_by_key
from bounce_stream.settings import KafkaSettings

# An owner that committed within this many seconds counts as alive, whatever the heartbeat.
MIN_LIVE_WINDOW_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Position:
    uidvalidity: int
    last_uid: int


def transactional_id(prefix: str, mailbox_id: str) -> str:
    return f"{prefix}:{mailbox_id}"


class CheckpointStore:
    """The checkpoint of one mailbox: one key in one partition of the checkpoint topic.

    :meth:`locate` must run (against the mailbox's producer) before the other methods, so
    that reads and writes use the partition the key lives in.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        mailbox_id: str,
        encoder: Encoder,
        decoder: Decoder,
        instance: str,
    ) -> None:
        self._kafka = kafka
        self.mailbox_id = mailbox_id
        self.key = mailbox_id.encode()
        self._encoder = encoder
        self._decoder = decoder
        # Kafka headers depend only on the encoder: computed once, not per record.
        self._headers = tuple(encoder.headers())
        self.instance = instance
        self.partition = 0

    async def locate(self, publisher: TransactionalPublisher) -> None:
        """Find the partition this mailbox's checkpoint key lives in."""
        partitions = await publisher.partitions(self._kafka.checkpoint_topic)
        self.partition = partition_for(self.key, partitions)

    async def read(self) -> dict[str, Any] | None:
        """The committed checkpoint value (decoded), or None if there is none."""
        kafka = self._kafka
        values = await latest_by_key(
            kafka,
            kafka.checkpoint_topic,
            partitions=[self.partition],
            timeout=kafka.transaction_timeout_ms / 1000 + 30,
        )
        raw = values.get(self.key)
        return None if raw is None else self._decoder.decode(raw)

    async def position(self) -> Position | None:
        """The committed position, or None if there is no checkpoint."""
        value = await self.read()
        if value is None:
            return None
        return Position(int(value["uidvalidity"]), int(value["last_uid"]))

    async def live_owner(self) -> str | None:
        """The instance that committed this mailbox's checkpoint recently, if not us."""
        return live_owner(await self.read(), self.instance, self._kafka, datetime.now(UTC))

    def record(
        self, position: Position, *, messages: int, instance: str | None = None
    ) -> OutRecord:
        """The checkpoint record for ``position``, written by ``instance`` (default: ours)."""
        value = {
            "mailbox": self.mailbox_id,
            "uidvalidity": position.uidvalidity,
            "last_uid": position.last_uid,
            "committed_at": datetime.now(UTC),
            "messages": messages,
            "instance": self.instance if instance is None else instance,
        }
        return OutRecord(
            self._kafka.checkpoint_topic,
            self.key,
            self._encoder.encode(value),
            self._headers,
            partition=self.partition,
        )

    def tombstone(self) -> OutRecord:
        """The record that deletes the checkpoint (the mailbox is read from its first UID)."""
        return OutRecord(self._kafka.checkpoint_topic, self.key, None, partition=self.partition)

    async def reset(self, publisher: TransactionalPublisher, position: Position | None) -> None:
        """Move the checkpoint to ``position`` (None: delete it) in a transaction of its own.

        ``publisher`` should use the mailbox's own transactional.id, so a running owner is
        fenced instead of overwriting the new position with its next commit.
        """
        await self.locate(publisher)
        if position is None:
            out = self.tombstone()
        else:
            out = self.record(position, messages=0, instance=f"checkpoint-reset:{self.instance}")
        await publisher.publish([out])


def live_owner(
    value: dict[str, Any] | None, instance: str, kafka: KafkaSettings, now: datetime
) -> str | None:
    """Who owns the mailbox according to checkpoint ``value`` at ``now``, if alive and not us.

    The owner proves it is alive by committing a checkpoint at least every
    ``checkpoint_heartbeat_seconds``; after two quiet heartbeats (at least 30 s) it is not.
    """
    if value is None or value.get("instance") == instance:
        return None
    window = max(2 * kafka.checkpoint_heartbeat_seconds, MIN_LIVE_WINDOW_SECONDS)
    committed: datetime = value["committed_at"]
    if (now - committed).total_seconds() > window:
        return None
    return str(value.get("instance") or "another instance")
