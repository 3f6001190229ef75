"""`bounce-stream suppress` and the events' writer schemas, on real Kafka.

Events written by an older release (a version in ``schemas/history/``) are applied like current
ones. An event written with a schema this build does not know stops the processor (exit 5)
with the group's offset left on it; a build that knows the schema resumes there, and applies
it exactly once.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bounce_stream.encoding import AvroSchema, bounce_event_schema
from bounce_stream.encoding.schemas import history
from bounce_stream.publishing.kafka import OutRecord, TransactionalPublisher
from dev.stack import KafkaNode
from tests.integration.suppression import REPO, World, bounce_event

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, tzinfo=UTC)
EXIT_UNKNOWN_SCHEMA = 5


def _first_release() -> AvroSchema:
    """BounceEvent as the first builds wrote it (before extracted_headers)."""
    (oldest,) = [v for v in history("bounce_event") if "extracted_headers" not in v.field_names]
    return oldest


def _next_release() -> AvroSchema:
    """A BounceEvent no build knows yet: the current one plus a defaulted field at the end."""
    definition = copy.deepcopy(dict(bounce_event_schema().definition))
    definition["fields"].append({"name": "campaign", "type": ["null", "string"], "default": None})
    return AvroSchema.from_json("bounce_event", json.dumps(definition))


def _newer_build(root: Path, knows: AvroSchema) -> dict[str, str]:
    """The environment of a bounce-stream build whose schema history also holds ``knows``:
    this package copied as a wheel lays it out (schemas inside), plus the new history file."""
    package = root / "bounce_stream"
    shutil.copytree(
        REPO / "bounce_stream", package, ignore=shutil.ignore_patterns("__pycache__", "schemas")
    )
    shutil.copytree(REPO / "schemas", package / "schemas")
    (package / "schemas" / "history" / "bounce_event" / f"{knows.fingerprint_hex}.avsc").write_text(
        knows.to_json(), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")}
    env["PYTHONPATH"] = str(root)
    return env


def _start(config: Path, log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bounce_stream", "suppress", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )


async def _event_offsets(world: World) -> list[tuple[int, bytes]]:
    """(offset, writer fingerprint bytes) of every committed event in partition 0."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=world.kafka.bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tp = TopicPartition(world.events_topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[tuple[int, bytes]] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            out.extend((m.offset, m.value[2:10]) for m in batch.get(tp, []) if m.value)
        return out
    finally:
        await consumer.stop()


async def _committed(world: World) -> int | None:
    """The suppress group's committed offset of events partition 0."""
    admin = AIOKafkaAdminClient(bootstrap_servers=world.kafka.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(world.group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(world.events_topic, 0))
    return None if meta is None else int(meta.offset)


def _changes(world: World) -> Counter[tuple[str, str, str]]:
    return Counter((c["recipient"], c["change"], c["rule"]) for c in world.changes())


def _wait_changes(world: World, want: int, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while sum(_changes(world).values()) < want:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.3)


def test_older_writers_are_applied_and_an_unknown_writer_stops_suppress_at_its_offset(
    kafka: KafkaNode, stack_dir: Path
) -> None:
    """First-release events suppress like current ones; an event of an unknown schema stops
    `suppress` with exit 5 naming fingerprint, topic, partition and offset, with the group's
    offset left on that event; a build that knows the schema applies it and the rest once."""
    workdir = stack_dir / f"suppress-evolve-{time.monotonic_ns()}"
    workdir.mkdir()
    world = World(kafka, workdir, partitions=1)
    config = world.config(batch_max_records=50)
    old, new = _first_release(), _next_release()

    soft = [
        bounce_event(
            k,
            "old-soft@example.org",
            T0 + timedelta(days=k),
            reason="mailboxfull",
            bounce_type="soft",
        )
        for k in range(3)
    ]
    hard = bounce_event(0, "old-hard@example.org", T0, reason="userunknown", bounce_type="hard")
    world.publish([hard, *soft], writer=old)
    world.publish(
        [bounce_event(0, "current@example.org", T0, reason="userunknown", bounce_type="hard")]
    )
    world.publish(
        [bounce_event(0, "next@example.org", T0, reason="userunknown", bounce_type="hard")],
        writer=new,
    )
    world.publish(
        [bounce_event(0, "after@example.org", T0, reason="userunknown", bounce_type="hard")]
    )
    offsets = asyncio.run(_event_offsets(world))
    (unknown_offset,) = [o for o, fp in offsets if fp == new.fingerprint_bytes]

    log = workdir / "suppress.log"
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")}
    proc = _start(config, log, plain_env, REPO)
    try:
        assert proc.wait(120) == EXIT_UNKNOWN_SCHEMA, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert new.fingerprint_hex in text
    assert f"{world.events_topic} partition 0 offset {unknown_offset}" in text
    assert "upgrade" in text and "Traceback" not in text
    stopped = [
        json.loads(line)
        for line in text.splitlines()
        if line.startswith("{") and "suppress_unknown_writer_schema" in line
    ]
    assert [(r["fingerprint"], r["offset"]) for r in stopped] == [
        (new.fingerprint_hex, unknown_offset)
    ]
    # Everything before the unknown event is applied and committed; nothing at or after it.
    assert asyncio.run(_committed(world)) == unknown_offset
    before = Counter(
        {
            ("old-hard@example.org", "suppressed", "hard_bounce"): 1,
            ("old-soft@example.org", "suppressed", "soft_bounces"): 1,
            ("current@example.org", "suppressed", "hard_bounce"): 1,
        }
    )
    assert _changes(world) == before
    states = world.states()
    assert states["old-soft@example.org"]["soft_count"] == 3  # type: ignore[index]
    assert "next@example.org" not in states and "after@example.org" not in states

    # The same build again stops again at the same event, still committing nothing past it.
    proc = _start(config, log, plain_env, REPO)
    try:
        assert proc.wait(120) == EXIT_UNKNOWN_SCHEMA, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert asyncio.run(_committed(world)) == unknown_offset

    # A build that ships the new schema in its history resumes at the event: each change once.
    newer = workdir / "newer-build"
    newer.mkdir()
    proc = _start(config, log, _newer_build(newer, new), newer)
    try:
        want = before + Counter(
            {
                ("next@example.org", "suppressed", "hard_bounce"): 1,
                ("after@example.org", "suppressed", "hard_bounce"): 1,
            }
        )
        _wait_changes(world, sum(want.values()), log)
        time.sleep(2)  # room for a duplicate to show up, were there one
        assert _changes(world) == want
        committed = asyncio.run(_committed(world))
        assert committed is not None and committed > max(o for o, _ in offsets)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def _with_new_action(symbol: str) -> AvroSchema:
    """BounceEvent plus one Action symbol; the Action enum has no default, so a reader without
    the symbol cannot hold a record that uses it."""
    definition = copy.deepcopy(dict(bounce_event_schema().definition))
    (action,) = [f for f in definition["fields"] if f["name"] == "action"]
    enum = next(t for t in action["type"] if isinstance(t, dict))
    enum["symbols"].append(symbol)
    return AvroSchema.from_json("bounce_event", json.dumps(definition))


def _build_reading(root: Path, current: AvroSchema) -> dict[str, str]:
    """The environment of a build whose own BounceEvent schema is ``current`` (the release
    that added the symbol): it reads what the older builds wrote, and the new symbol."""
    env = _newer_build(root, current)
    (root / "bounce_stream" / "schemas" / "bounce_event.avsc").write_text(
        current.to_json(), encoding="utf-8"
    )
    return env


def test_a_known_writer_event_this_build_cannot_resolve_stops_suppress_and_garbage_is_skipped(
    kafka: KafkaNode, stack_dir: Path
) -> None:
    """An event of a known writer schema that cannot be resolved to this build's BounceEvent
    (a new enum symbol without default) stops `suppress` with exit 5 at its offset, naming the
    problem, after garbage bytes before it were skipped; the release that reads it resumes
    there and applies it and the rest exactly once."""
    workdir = stack_dir / f"suppress-unresolvable-{time.monotonic_ns()}"
    workdir.mkdir()
    world = World(kafka, workdir, partitions=1)
    config = world.config(batch_max_records=50)
    extended = _with_new_action("quarantined")

    def hard(rcpt: str, action: str = "failed") -> dict[str, Any]:
        return bounce_event(0, rcpt, T0, reason="userunknown", bounce_type="hard", action=action)

    world.publish([hard("before@example.org")])
    # Garbage under a known fingerprint: no record of that (or any) schema.
    garbage = b"\xc3\x01" + bounce_event_schema().fingerprint_bytes + b"\xff" * 40
    asyncio.run(_publish_raw(world, b"garbage@example.org", garbage))
    world.publish([hard("same-symbols@example.org")], writer=extended)
    world.publish([hard("new-symbol@example.org", action="quarantined")], writer=extended)
    world.publish([hard("after@example.org")])
    offsets = asyncio.run(_event_offsets(world))
    assert len(offsets) == 5
    stuck_offset = offsets[3][0]

    # A build that knows the writer schema (in its history) but not the symbol.
    knows = workdir / "knows-writer"
    knows.mkdir()
    log = workdir / "suppress.log"
    proc = _start(config, log, _newer_build(knows, extended), knows)
    try:
        assert proc.wait(60) == EXIT_UNKNOWN_SCHEMA, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert f"{world.events_topic} partition 0 offset {stuck_offset}" in text
    assert "does not fit this bounce-stream's BounceEvent schema" in text
    assert "quarantined" in text and extended.fingerprint_hex in text
    assert "upgrade" in text and "Traceback" not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    stopped = [r for r in records if r["event"] == "suppress_unresolvable_event"]
    assert [(r["fingerprint"], r["offset"]) for r in stopped] == [
        (extended.fingerprint_hex, stuck_offset)
    ]
    skipped = [r for r in records if r["event"] == "suppress_undecodable_event"]
    assert [r["offset"] for r in skipped] == [offsets[1][0]]
    assert asyncio.run(_committed(world)) == stuck_offset
    before = Counter(
        {
            ("before@example.org", "suppressed", "hard_bounce"): 1,
            ("same-symbols@example.org", "suppressed", "hard_bounce"): 1,
        }
    )
    assert _changes(world) == before

    # The release whose own schema has the symbol resumes at the event.
    reads = workdir / "reads-symbol"
    reads.mkdir()
    proc = _start(config, log, _build_reading(reads, extended), reads)
    try:
        want = before + Counter(
            {
                ("new-symbol@example.org", "suppressed", "hard_bounce"): 1,
                ("after@example.org", "suppressed", "hard_bounce"): 1,
            }
        )
        _wait_changes(world, sum(want.values()), log)
        time.sleep(2)  # room for a duplicate to show up, were there one
        assert _changes(world) == want
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


async def _publish_raw(world: World, key: bytes, value: bytes) -> None:
    """One record of arbitrary bytes on events partition 0, in a transaction."""
    ks = world.kafka_settings
    pub = TransactionalPublisher(ks, f"{world.prefix}-raw-publisher", 1024 * 1024)
    await pub.start()
    try:
        await pub.publish([OutRecord(ks.events_topic, key, value, (), partition=0)])
    finally:
        await pub.stop()
