#!/usr/bin/env python3
"""Throughput and restart time of `bounce-stream suppress` against a real Kafka.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_suppress.py [--recipients 20000] [--partitions 3]

Starts its own single-node Kafka (dev.stack, 127.0.0.1, temp dir) and stops it at the end.
Publishes 2 events per recipient (one soft bounce each, then a hard bounce for every second
recipient) with the package's encoder, then:

1. throughput: `bounce-stream suppress` (default batch size) drains the backlog; events/s from
   its first committed batch to the last (metric bounce_stream_suppress_events_consumed).
2. restart:    SIGTERM and start again: time from process start until every partition's state
   is rebuilt from the recipients topic (log suppress_partition_assigned), and the sum of the
   rebuild times it logs.

A benchmark, not a test: nothing here asserts on time. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dev.stack import start_kafka  # noqa: E402
from tests.integration.suppression import World, bounce_event, start_processor  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def consumed(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("bounce_stream_suppress_events_consumed_total{")
    )


def assigned_lines(log: Path, since: int) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines()[since:]:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("event") == "suppress_partition_assigned":
            out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipients", type=int, default=20000)
    ap.add_argument("--partitions", type=int, default=3)
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bs-bench-suppress-", dir="/tmp"))
    workdir.chmod(0o755)
    kafka = start_kafka(workdir / "kafka")
    proc = None
    try:
        world = World(kafka, workdir, partitions=args.partitions)
        events = [
            bounce_event(0, f"r{i}@example.org", T0, reason="mailboxfull", bounce_type="soft")
            for i in range(args.recipients)
        ] + [
            bounce_event(
                1,
                f"r{i}@example.org",
                T0 + timedelta(hours=1),
                reason="userunknown",
                bounce_type="hard" if i % 2 == 0 else "soft",
            )
            for i in range(args.recipients)
        ]
        started = time.monotonic()
        world.publish(events, per_transaction=2000)
        print(f"published {len(events)} events in {time.monotonic() - started:.1f} s")
        config = world.config(batch_max_records=1000)
        metrics_port = int(yaml.safe_load(config.read_text())["metrics"]["port"])
        log = workdir / "suppress.log"

        proc = start_processor(config, log)
        t_start = time.monotonic()
        first = None
        deadline = t_start + 900
        while (done := consumed(metrics_port)) < len(events):
            if first is None and done > 0:
                first = (time.monotonic(), done)
            if time.monotonic() > deadline or proc.poll() is not None:
                print(f"FAILED: {done}/{len(events)} consumed\n{log.read_text()[-2000:]}")
                return 1
            time.sleep(0.05)
        t_end = time.monotonic()
        assert first is not None
        rate = (len(events) - first[1]) / (t_end - first[0])
        print(
            f"throughput: {len(events)} events in {t_end - t_start:.2f} s from process start; "
            f"{rate:,.0f} events/s from the first committed batch to the last"
        )
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

        lines_before = len(log.read_text(errors="replace").splitlines())
        proc = start_processor(config, log)
        t_start = time.monotonic()
        while len(rebuilt := assigned_lines(log, lines_before)) < args.partitions:
            if time.monotonic() - t_start > 300 or proc.poll() is not None:
                print(f"FAILED: restart\n{log.read_text()[-2000:]}")
                return 1
            time.sleep(0.02)
        t_ready = time.monotonic() - t_start
        recipients = sum(r["recipients"] for r in rebuilt)
        rebuild = sum(r["rebuild_s"] for r in rebuilt)
        print(
            f"restart: {recipients} recipients rebuilt in {rebuild:.2f} s (sum over "
            f"{args.partitions} partitions, {recipients / max(rebuild, 1e-9):,.0f} recipients/s); "
            f"{t_ready:.2f} s from process start to every partition set up"
        )
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
