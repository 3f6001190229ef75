#!/usr/bin/env python3
"""Throughput and restart time of `bounce-stream suppress` against a real Kafka.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_suppress.py [--recipients 20000] [--partitions 3]
        [--smoke] [--servers FILE]

Starts its own single-node Kafka (dev.stack, 127.0.0.1, temp dir) and stops it and the
processors at the end, also on error, Ctrl-C or SIGTERM (``--servers``: uses a running one).
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
import subprocess
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

from benchmarks._smoke import SERVERS_HELP, SMOKE_HELP, arm_deadline, read_servers  # noqa: E402
from dev.stack import KafkaNode, start_kafka  # noqa: E402
from tests.integration.suppression import World, bounce_event, start_processor  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def metrics_port(config: Path) -> int:
    """The /metrics port ``World.config`` chose for the processor of ``config``."""
    port: int = yaml.safe_load(config.read_text())["metrics"]["port"]
    return port


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
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("--servers", type=Path, help=SERVERS_HELP)
    args = ap.parse_args(argv)
    if args.smoke:
        args.recipients, args.partitions = 20, 1
        arm_deadline()
    signal.signal(signal.SIGTERM, _interrupt)  # unwind through the finally below
    given, _ = read_servers(args.servers) if args.servers else (None, None)
    workdir = Path(tempfile.mkdtemp(prefix="bs-bench-suppress-", dir="/tmp"))
    workdir.chmod(0o755)
    processors: list[subprocess.Popen[bytes]] = []
    kafka = given
    try:
        kafka = given or start_kafka(workdir / "kafka")
        return run(kafka, workdir, args.recipients, args.partitions, processors)
    except KeyboardInterrupt:
        print("interrupted: stopping the processor and Kafka")
        return 130
    finally:
        for proc in processors:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if kafka is not None and kafka is not given:
            kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _interrupt(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run(
    kafka: KafkaNode,
    workdir: Path,
    recipients: int,
    partitions: int,
    processors: list[subprocess.Popen[bytes]],
) -> int:
    """Publish, drain, restart; every processor started is appended to ``processors``."""
    world = World(kafka, workdir, partitions=partitions)
    events = [
        bounce_event(0, f"r{i}@example.org", T0, reason="mailboxfull", bounce_type="soft")
        for i in range(recipients)
    ] + [
        bounce_event(
            1,
            f"r{i}@example.org",
            T0 + timedelta(hours=1),
            reason="userunknown",
            bounce_type="hard" if i % 2 == 0 else "soft",
        )
        for i in range(recipients)
    ]
    started = time.monotonic()
    world.publish(events, per_transaction=2000)
    print(f"published {len(events)} events in {time.monotonic() - started:.1f} s")
    config = world.config(batch_max_records=1000)
    port = metrics_port(config)
    log = workdir / "suppress.log"

    proc = start_processor(config, log)
    processors.append(proc)
    t_start = time.monotonic()
    first = None
    deadline = t_start + 900
    while (done := consumed(port)) < len(events):
        if first is None and done > 0:
            first = (time.monotonic(), done)
        if time.monotonic() > deadline or proc.poll() is not None:
            print(f"FAILED: {done}/{len(events)} consumed\n{log.read_text()[-2000:]}")
            return 1
        time.sleep(0.05)
    t_end = time.monotonic()
    # From the first committed batch seen to the last; n/a when one poll saw them all.
    steady = (
        f"{(len(events) - first[1]) / (t_end - first[0]):,.0f} events/s"
        if first is not None and t_end > first[0]
        else "n/a"
    )
    print(
        f"throughput: {len(events)} events in {t_end - t_start:.2f} s from process start; "
        f"{steady} from the first committed batch to the last"
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)

    lines_before = len(log.read_text(errors="replace").splitlines())
    proc = start_processor(config, log)
    processors.append(proc)
    t_start = time.monotonic()
    while len(rebuilt := assigned_lines(log, lines_before)) < partitions:
        if time.monotonic() - t_start > 300 or proc.poll() is not None:
            print(f"FAILED: restart\n{log.read_text()[-2000:]}")
            return 1
        time.sleep(0.02)
    t_ready = time.monotonic() - t_start
    rebuilt_recipients = sum(r["recipients"] for r in rebuilt)
    rebuild = sum(r["rebuild_s"] for r in rebuilt)
    print(
        f"restart: {rebuilt_recipients} recipients rebuilt in {rebuild:.2f} s (sum over "
        f"{partitions} partitions, {rebuilt_recipients / max(rebuild, 1e-9):,.0f} recipients/s); "
        f"{t_ready:.2f} s from process start to every partition set up"
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
