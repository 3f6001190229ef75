"""``consume`` with a Kafka-only configuration against a real broker, and its summary line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from bounce_stream.publishing.kafka import ensure_topics
from bounce_stream.settings import KafkaSettings
from dev.stack import KafkaNode

pytestmark = pytest.mark.integration


async def _fill(settings: KafkaSettings) -> None:
    await ensure_topics(settings, 1024)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(settings.events_topic, b"not avro", key=b"k1", partition=0)
        await producer.send_and_wait(settings.events_topic, b"\x00junk", key=b"k2", partition=0)
        await producer.send_and_wait(settings.events_topic, None, key=b"k3", partition=0)
    finally:
        await producer.stop()


def test_consume_bootstrap_only_prints_records_and_a_summary(
    kafka: KafkaNode, tmp_path: Path
) -> None:
    """`consume -b` reads a topic with no IMAP settings at all and ends with one summary line."""
    suffix = uuid.uuid4().hex[:8]
    kafka_section = {
        "events_topic": f"events-{suffix}",
        "checkpoint_topic": f"checkpoints-{suffix}",
        "dead_letter_topic": f"dead-{suffix}",
        "topic_partitions": 1,
    }
    asyncio.run(
        _fill(KafkaSettings.model_validate({"bootstrap_servers": kafka.bootstrap, **kafka_section}))
    )
    kafka_config = tmp_path / "kafka.yaml"
    kafka_config.write_text(yaml.safe_dump({"kafka": kafka_section}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bounce_stream",
            "consume",
            "-b",
            kafka.bootstrap,
            "--kafka-config",
            str(kafka_config),
            "--idle-timeout",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")},
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    (summary,) = result.stderr.strip().splitlines()
    assert summary.startswith(
        f"bounce-stream: 3 record(s) from events-{suffix} (2 undecodable, 1 tombstones) in "
    )
