"""Helpers for the suppression processor tests and benchmark: publish BounceEvents with the
package's encoder and a transactional producer, run `bounce-stream suppress`, read back."""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro
import yaml

from bounce_stream.encoding import AvroSchema, bounce_event_schema, make_encoder
from bounce_stream.publishing.kafka import (
    OutRecord,
    TransactionalPublisher,
    ensure_topics,
    partition_for,
)
from bounce_stream.settings import KafkaSettings
from dev.stack import KafkaNode, free_port
from tests.integration.pipeline import kcat_raw

REPO = Path(__file__).resolve().parents[2]
AVRO = {
    name: fastavro.parse_schema(json.loads((REPO / "schemas" / f"{name}.avsc").read_text()))
    for name in ("recipient_state", "suppression_changed")
}


def bounce_event(
    n: int, recipient: str, at: datetime, *, reason: str, bounce_type: str, action: str = "failed"
) -> dict[str, Any]:
    return {
        "event_id": f"{recipient}#{n}",
        "detected_at": at,
        "mailbox": "imap://bounces@example.test:143/INBOX",
        "uid": n,
        "uidvalidity": 1,
        "bounce_message_id": None,
        "recipient": recipient,
        "action": action,
        "status": None,
        "reply_code": None,
        "diagnostic_code": None,
        "diagnostic_type": None,
        "reason": reason,
        "hard_bounce": bounce_type == "hard",
        "bounce_type": bounce_type,
        "remote_mta": None,
        "reporting_mta": None,
        "smtp_command": None,
        "feedback_type": None,
        "arrival_date": None,
        "original_message_id": None,
        "tracking_id": None,
        "envelope_id": None,
        "verp_recipient": None,
        "original_sender": None,
        "original_subject": None,
        "detected_by": "test",
    }


@dataclass
class World:
    """Private topics, group and transactional ids on one Kafka node."""

    kafka: KafkaNode
    workdir: Path
    partitions: int = 3

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.events_topic = f"s{tag}.events"
        self.recipients_topic = f"s{tag}.recipients"
        self.suppressions_topic = f"s{tag}.suppressions"
        self.prefix = f"s{tag}"
        self.group = f"s{tag}-suppress"

    @property
    def kafka_settings(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.kafka.bootstrap,
            events_topic=self.events_topic,
            checkpoint_topic=f"{self.prefix}.checkpoints",
            dead_letter_topic=f"{self.prefix}.dead-letter",
            topic_partitions=self.partitions,
            transactional_id_prefix=self.prefix,
            transaction_timeout_ms=20000,
            retry_initial_seconds=0.2,
            retry_max_seconds=2,
        )

    def config(self, *, batch_max_records: int = 25, **policy: Any) -> Path:
        ks = self.kafka_settings
        cfg = {
            "kafka": {
                "bootstrap_servers": ks.bootstrap_servers,
                "events_topic": ks.events_topic,
                "topic_partitions": ks.topic_partitions,
                "transactional_id_prefix": ks.transactional_id_prefix,
                "transaction_timeout_ms": ks.transaction_timeout_ms,
                "retry_initial_seconds": ks.retry_initial_seconds,
                "retry_max_seconds": ks.retry_max_seconds,
            },
            "suppression": {
                "recipients_topic": self.recipients_topic,
                "suppressions_topic": self.suppressions_topic,
                "group_id": self.group,
                "batch_max_records": batch_max_records,
                **policy,
            },
            "metrics": {"port": free_port()},  # one port per processor started
            "logging": {"format": "json", "level": "INFO"},
        }
        path = self.workdir / f"suppress-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    def publish(
        self,
        events: list[dict[str, Any]],
        per_transaction: int = 100,
        *,
        writer: AvroSchema | None = None,
    ) -> None:
        """Publish ``events`` (keyed by recipient, default partitioner) in transactions,
        single-object framed with ``writer`` (default: the current BounceEvent schema)."""
        asyncio.run(self._publish(events, per_transaction, writer or bounce_event_schema()))

    async def _publish(
        self, events: list[dict[str, Any]], per_transaction: int, writer: AvroSchema
    ) -> None:
        ks = self.kafka_settings
        await ensure_topics(ks, 1024)
        enc = make_encoder(writer)
        pub = TransactionalPublisher(ks, f"{self.prefix}-test-publisher", 1024 * 1024)
        await pub.start()
        try:
            for start in range(0, len(events), per_transaction):
                await pub.publish(
                    [
                        OutRecord(
                            ks.events_topic,
                            ev["recipient"].encode(),
                            enc.encode(ev),
                            tuple(enc.headers()),
                            partition=partition_for(ev["recipient"].encode(), self.partitions),
                        )
                        for ev in events[start : start + per_transaction]
                    ]
                )
        finally:
            await pub.stop()

    def changes(self) -> list[dict[str, Any]]:
        """Every committed SuppressionChanged (independent kcat read_committed read)."""
        return [
            _decode(v, "suppression_changed")
            for _, v, _ in kcat_raw(self.kafka, self.suppressions_topic)
            if v is not None
        ]

    def states(self) -> dict[str, dict[str, Any] | None]:
        """The last committed RecipientState per key (independent kcat read)."""
        out: dict[str, dict[str, Any] | None] = {}
        for k, v, _ in kcat_raw(self.kafka, self.recipients_topic):
            assert k is not None
            out[k.decode()] = _decode(v, "recipient_state") if v is not None else None
        return out


def _decode(value: bytes, name: str) -> dict[str, Any]:
    assert value[:2] == b"\xc3\x01", value[:10]
    (fingerprint,) = struct.unpack_from("<Q", value, 2)
    assert fingerprint != 0
    return fastavro.schemaless_reader(io.BytesIO(value[10:]), AVRO[name])  # type: ignore[return-value]


def start_processor(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`bounce-stream suppress` as a child process logging to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bounce_stream", "suppress", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
        )


def release(config: Path, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bounce_stream",
            "suppress",
            "release",
            "--config",
            str(config),
            address,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
    )
