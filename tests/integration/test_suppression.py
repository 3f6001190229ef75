"""`bounce-stream suppress` against real Kafka: exactly-once output and state across kill -9."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bounce_stream.publishing.kafka import partition_for
from dev.stack import KafkaNode
from tests.integration.suppression import World, bounce_event, release, start_processor

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# A killed member's partitions move after its session expires: 3 s here (the dev broker allows
# it) instead of the 10 s default, which the kill -9 tests would otherwise sit out each time.
SESSION_TIMEOUT_MS = 3000
# Per category (recipient index % 6): the events, in order, and the expected changes.
CATEGORIES: dict[int, tuple[list[dict[str, Any]], list[tuple[str, str]]]] = {
    0: ([{"reason": "userunknown", "bounce_type": "hard"}], [("suppressed", "hard_bounce")]),
    1: ([{"reason": "mailboxfull", "bounce_type": "soft"}] * 3, [("suppressed", "soft_bounces")]),
    2: ([{"reason": "mailboxfull", "bounce_type": "soft"}] * 2, []),
    3: ([{"reason": "vacation", "bounce_type": "undetermined"}] * 3, []),
    4: (
        [
            {"reason": "userunknown", "bounce_type": "hard"},
            {"reason": "delivered", "bounce_type": "undetermined", "action": "delivered"},
        ],
        [("suppressed", "hard_bounce"), ("released", "delivered")],
    ),
    5: ([{"reason": "feedback", "bounce_type": "undetermined"}], [("suppressed", "complaint")]),
}


def rounds(count: int) -> list[list[dict[str, Any]]]:
    """Round k holds the k-th event of every recipient, so each one's events spread out."""
    out: list[list[dict[str, Any]]] = [[], [], []]
    for i in range(count):
        rcpt = f"r{i}@example.org"
        for k, fields in enumerate(CATEGORIES[i % 6][0]):
            out[k].append(bounce_event(k, rcpt, T0 + timedelta(days=k), **fields))
    return out


def expected_changes(count: int) -> Counter[tuple[str, str, str]]:
    return Counter(
        (f"r{i}@example.org", change, rule)
        for i in range(count)
        for change, rule in CATEGORIES[i % 6][1]
    )


def assigned_partitions(log: Path) -> set[int]:
    """Partitions an instance set up at some point (from its JSON log)."""
    out = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("event") == "suppress_partition_assigned":
                out.add(int(rec["partition"]))
    return out


def wait_for(world: World, want: int, timeout: float, log: Path) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        got = world.changes()
        if len(got) >= want:
            return got
        assert time.monotonic() < deadline, (
            f"{len(got)}/{want} changes after {timeout}s:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.3)


def test_suppressions_are_emitted_exactly_once_across_kill_9_and_the_state_survives(
    kafka: KafkaNode, stack_dir: Path
) -> None:
    """Killed with SIGKILL twice mid-stream, the processor still emits every expected
    SuppressionChanged exactly once and leaves the right state per recipient."""
    workdir = stack_dir / f"suppress-{time.monotonic_ns()}"
    workdir.mkdir()
    world = World(kafka, workdir)
    count = 1200
    r0, r1, r2 = rounds(count)
    config = world.config(batch_max_records=10, session_timeout_ms=SESSION_TIMEOUT_MS)
    log = workdir / "suppress.log"
    world.publish(r0)
    proc = start_processor(config, log)
    try:
        wait_for(world, 1, 60, log)  # mid-stream: round 0 alone needs many transactions
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = len(world.changes())
        assert at_kill < 600, "the kill came too late to be mid-stream"
        world.publish(r1)
        proc = start_processor(config, log)
        wait_for(world, 700, 120, log)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        world.publish(r2)
        proc = start_processor(config, log)
        want = expected_changes(count)
        got = wait_for(world, sum(want.values()), 180, log)
        time.sleep(2)  # room for a duplicate to show up, were there one
        got = world.changes()
        assert Counter((c["recipient"], c["change"], c["rule"]) for c in got) == want

        # Evidence and time come from the events themselves.
        by_rcpt = {(c["recipient"], c["rule"]): c for c in got}
        soft = by_rcpt[("r1@example.org", "soft_bounces")]
        assert soft["evidence"] == [f"r1@example.org#{k}" for k in range(3)]
        assert soft["at"] == T0 + timedelta(days=2)

        states = world.states()
        assert "r3@example.org" not in states  # auto-replies never count
        assert states["r0@example.org"]["suppressed_since"] == T0  # type: ignore[index]
        assert states["r1@example.org"]["soft_count"] == 3  # type: ignore[index]
        assert states["r2@example.org"]["suppressed_since"] is None  # type: ignore[index]
        assert states["r2@example.org"]["soft_count"] == 2  # type: ignore[index]
        released = states["r4@example.org"]
        assert released is not None and released["suppressed_since"] is None
        assert released["last_reason"] == "delivered" and released["window"] == []
        assert states["r5@example.org"]["complaint_count"] == 1  # type: ignore[index]
        assert len(states) == count - count // 6

        # A manual release while the processor runs: one change, state cleared, and the
        # (fenced) processor carries on with later events.
        res = release(config, "R6@example.org")
        assert res.returncode == 0, res.stderr
        world.publish(
            [bounce_event(9, "r12@example.org", T0, reason="userunknown", bounce_type="hard")]
        )
        world.publish(
            [
                bounce_event(
                    9,
                    "r8@example.org",
                    T0 + timedelta(days=1),
                    reason="mailboxfull",
                    bounce_type="soft",
                )
            ]
        )
        want[("r6@example.org", "released", "manual")] += 1
        want[("r8@example.org", "suppressed", "soft_bounces")] += 1
        got = wait_for(world, sum(want.values()), 120, log)
        time.sleep(2)
        assert Counter((c["recipient"], c["change"], c["rule"]) for c in world.changes()) == want
        states = world.states()
        assert states["r6@example.org"]["suppressed_since"] is None  # type: ignore[index]
        assert states["r12@example.org"]["hard_count"] == 2  # type: ignore[index]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_two_instances_share_the_partitions_and_one_takes_over_after_kill_9(
    kafka: KafkaNode, stack_dir: Path
) -> None:
    """Two processors in one group split the partitions; when one is killed with SIGKILL the
    other takes its partitions over, and every change is still emitted exactly once."""
    workdir = stack_dir / f"suppress-{time.monotonic_ns()}"
    workdir.mkdir()
    world = World(kafka, workdir)
    count = 600
    r0, r1, r2 = rounds(count)
    world.publish(r0)
    logs = [workdir / "a.log", workdir / "b.log"]
    procs = [
        start_processor(
            world.config(batch_max_records=10, session_timeout_ms=SESSION_TIMEOUT_MS), log
        )
        for log in logs
    ]
    try:
        wait_for(world, 1, 60, logs[0])
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        world.publish(r1 + r2)
        want = expected_changes(count)
        wait_for(world, sum(want.values()), 180, logs[1])
        time.sleep(2)
        got = Counter((c["recipient"], c["change"], c["rule"]) for c in world.changes())
        assert got == want
        assigned = [
            line for line in logs[1].read_text().splitlines() if "partition_assigned" in line
        ]
        assert len({line.split('"partition": ')[1].split(",")[0] for line in assigned}) == 3
        states = world.states()
        assert len(states) == count - count // 6
        assert states["r1@example.org"]["suppressed_since"] == T0 + timedelta(days=2)  # type: ignore[index]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)


def lag_by_partition(config: Path) -> dict[int, float] | None:
    """bounce_stream_suppress_lag_records per partition on the processor's /metrics (None while
    it does not answer)."""
    port = yaml.safe_load(config.read_text())["metrics"]["port"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            body = resp.read().decode()
    except OSError:
        return None
    return {
        int(sample.labels["partition"]): sample.value
        for family in text_string_to_metric_families(body)
        if family.name == "bounce_stream_suppress_lag_records"
        for sample in family.samples
    }


def test_lag_gauge_counts_unprocessed_events_and_follows_partition_ownership(
    kafka: KafkaNode, stack_dir: Path
) -> None:
    """The lag gauge shows events not yet processed per owned partition, falls to 0 once all
    are applied, and after a second member joins each partition is reported by its owner only
    (the one that lost it drops its series)."""
    workdir = stack_dir / f"suppress-lag-{time.monotonic_ns()}"
    workdir.mkdir()
    world = World(kafka, workdir)
    count = 600
    r0, r1, r2 = rounds(count)
    world.publish(r0 + r1 + r2)
    ends = {p: 0 for p in range(world.partitions)}  # events per partition, an upper bound
    for ev in r0 + r1 + r2:
        ends[partition_for(ev["recipient"].encode(), world.partitions)] += 1
    want = expected_changes(count)
    configs = [
        world.config(batch_max_records=5, session_timeout_ms=SESSION_TIMEOUT_MS) for _ in "ab"
    ]
    logs = [workdir / "a.log", workdir / "b.log"]
    procs = [start_processor(configs[0], logs[0])]
    try:
        seen: dict[int, list[float]] = {p: [] for p in ends}
        deadline = time.monotonic() + 120
        while True:
            lag = lag_by_partition(configs[0]) or {}
            for p, value in lag.items():
                seen[p].append(value)
            done = len(world.changes()) >= sum(want.values())
            if done and sorted(lag) == sorted(ends) and not any(lag.values()):
                break
            assert time.monotonic() < deadline, (seen, logs[0].read_text()[-3000:])
            time.sleep(0.2)
        # Mid-stream it was behind, by at most the partition's offsets: its events plus a
        # commit marker per publishing transaction (of 100 events, over all partitions).
        assert max(max(values) for values in seen.values()) > 0
        markers = -(-len(r0 + r1 + r2) // 100)
        for p, values in seen.items():
            assert max(values) <= ends[p] + markers, (p, values)
        assert Counter((c["recipient"], c["change"], c["rule"]) for c in world.changes()) == want

        procs.append(start_processor(configs[1], logs[1]))
        deadline = time.monotonic() + 60
        while True:
            a, b = lag_by_partition(configs[0]) or {}, lag_by_partition(configs[1]) or {}
            if b and a and len(a) + len(b) == world.partitions:
                break
            assert time.monotonic() < deadline, (a, b, logs[1].read_text()[-3000:])
            time.sleep(0.2)
        assert set(a) | set(b) == set(ends) and not set(a) & set(b)
        assert set(b) <= assigned_partitions(logs[1])
        assert not any(a.values()) and not any(b.values())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
