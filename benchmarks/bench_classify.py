#!/usr/bin/env python3
"""Classification in this process vs through the worker pool, side by side in one run.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_classify.py [--corpus DIR] [--rounds 5] [--workers 1,2]
        [--kills 3] [--smoke]

1. in-process: ``detection.parse`` over every .eml of the corpus (what the service did on its
   event loop before the pool), and
2. pool: the same messages through ``ClassifyPool.classify_all`` with each worker count of
   ``--workers`` (all messages submitted at once, as the batches of several mailboxes are),
   interleaved round by round after a warm-up, so that both see the same machine load: best
   and median pass, the CPU per message of this process (the event loop) and of the
   workers, the per-round ratio, and how many results differ from in-process ones (must
   be 0).
3. stuck worker: a message that never finishes (tests/unit/classify_targets.hang_on_marker)
   with a 0.5 s deadline and one worker: time from the timeout to the next message classified
   by the replacement worker (kill + spawn + import + classify).
4. parent SIGKILL: a child process starts a 2-worker pool with one worker busy forever, is
   SIGKILLed, and the time until both workers are gone is measured (``--kills`` times).

A benchmark, not a test: nothing here asserts on time. On a shared 2-core machine compare
the ratios printed in one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._smoke import SMOKE_HELP, arm_deadline  # noqa: E402
from bounce_stream.classifying import ClassifyFailure, ClassifyPool  # noqa: E402
from bounce_stream.detection import ParseOptions, ParseResult, parse  # noqa: E402
from tests.unit.classify_targets import HANG_MARKER  # noqa: E402

OPTIONS = ParseOptions()
HANG_TARGET = "tests.unit.classify_targets:hang_on_marker"


def out(line: str = "") -> None:
    print(line, flush=True)


@dataclass
class Side:
    """Timings of one way of classifying, one entry per round."""

    name: str
    seconds: list[float] = field(default_factory=list)
    loop_cpu: float = 0.0  # CPU seconds of this process (the service's event loop)
    worker_cpu: float = 0.0  # CPU seconds of the worker processes

    def rate(self, count: int, pick: Callable[[list[float]], float]) -> float:
        return count / pick(self.seconds)


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids`` (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def _ready(pool: ClassifyPool, workers: int) -> None:
    deadline = time.monotonic() + 120
    while len(pool.pids) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("pool workers did not start in 120 s")
        await asyncio.sleep(0.05)


async def compare(
    messages: list[bytes], sizes: list[int], rounds: int
) -> tuple[Side, list[tuple[Side, int]]]:
    """In-process and pool passes interleaved round by round, so both see the same load.

    Returns the in-process side and, per pool size, its side and how many results differed
    from in-process ones.
    """
    expected = [parse(raw, OPTIONS) for raw in messages]  # also the in-process warm-up
    base = Side("in-process")
    pools = [ClassifyPool(OPTIONS, workers=n, timeout=60) for n in sizes]
    sides = [Side(f"pool, {n} worker(s)") for n in sizes]
    mismatches = []
    try:
        for pool, n in zip(pools, sizes, strict=True):
            await pool.start()
            await _ready(pool, n)
            got = await pool.classify_all(messages)  # warm-up
            mismatches.append(sum(a != b for a, b in zip(got, expected, strict=True)))
        for _ in range(rounds):
            cpu, started = time.process_time(), time.perf_counter()
            for raw in messages:
                parse(raw, OPTIONS)
            base.seconds.append(time.perf_counter() - started)
            base.loop_cpu += time.process_time() - cpu
            for pool, side in zip(pools, sides, strict=True):
                pids = pool.pids
                cpu, workers_cpu = time.process_time(), process_cpu(pids)
                started = time.perf_counter()
                await pool.classify_all(messages)
                side.seconds.append(time.perf_counter() - started)
                side.loop_cpu += time.process_time() - cpu
                side.worker_cpu += process_cpu(pids) - workers_cpu
    finally:
        for pool in pools:
            await pool.stop()
    return base, list(zip(sides, mismatches, strict=True))


async def stuck_worker(sample: bytes, workers: int, timeout: float = 0.5) -> tuple[float, float]:
    """(s from submit to the timeout, s from the timeout to the next message's result)."""
    pool = ClassifyPool(OPTIONS, workers=workers, timeout=timeout, target=HANG_TARGET)
    await pool.start()
    try:
        await _ready(pool, workers)
        hang = b"Subject: stuck\r\n" + HANG_MARKER + b"\r\n\r\n"
        submitted = time.perf_counter()
        failure = await pool.classify(hang)
        timed_out = time.perf_counter()
        assert isinstance(failure, ClassifyFailure) and failure.cause == "timeout"
        result = await pool.classify(sample)
        assert isinstance(result, ParseResult)
        return timed_out - submitted, time.perf_counter() - timed_out
    finally:
        await pool.stop()


_PARENT = f"""
import asyncio, json
from bounce_stream.classifying import ClassifyPool
from bounce_stream.detection import ParseOptions

async def main():
    pool = ClassifyPool(ParseOptions(), workers=2, timeout=3600, target={HANG_TARGET!r})
    await pool.start()
    while len(pool.pids) < 2:
        await asyncio.sleep(0.05)
    hang = b"Subject: x\\r\\n" + {HANG_MARKER!r} + b"\\r\\n\\r\\n"
    stuck = asyncio.ensure_future(pool.classify(hang))
    await asyncio.sleep(0.3)
    print(json.dumps(pool.pids), flush=True)
    await stuck

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def parent_sigkill() -> float:
    """Seconds from SIGKILL of a pool's parent until its two workers are gone."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _PARENT],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        pids = json.loads(proc.stdout.readline())
        killed = time.perf_counter()
        proc.kill()
        proc.wait()
        while any(_alive(pid) for pid in pids):
            if time.perf_counter() - killed > 60:
                return float("inf")
            time.sleep(0.001)
        return time.perf_counter() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parents[1] / "tests/corpus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="comma-separated pool sizes")
    parser.add_argument("--kills", type=int, default=3, help="parent SIGKILL repetitions")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()

    paths = sorted(args.corpus.rglob("*.eml"))
    if args.smoke:
        paths, args.rounds, args.workers, args.kills = paths[:20], 1, "1", 1
        arm_deadline()
    if not paths:
        raise SystemExit(f"no .eml under {args.corpus}")
    messages = [p.read_bytes() for p in paths]
    size = sum(map(len, messages)) / 1e6
    load = os.getloadavg()
    out(f"corpus: {len(messages)} messages, {size:.1f} MB; rounds: {args.rounds}; ")
    out(f"CPUs: {os.cpu_count()}, load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    sizes = [int(w) for w in args.workers.split(",")]
    base, pools = asyncio.run(compare(messages, sizes, args.rounds))
    count, per_message = len(messages), 1000 / (args.rounds * len(messages))
    out(f"{'':22}{'best':>10}{'median':>10}   CPU ms/message (event loop + workers)")
    for side in [base, *(side for side, _ in pools)]:
        out(
            f"{side.name:22}{side.rate(count, min):8,.0f}/s"
            f"{side.rate(count, statistics.median):8,.0f}/s"
            f"   {side.loop_cpu * per_message:.3f} + {side.worker_cpu * per_message:.3f}"
        )
    for side, mismatches in pools:
        ratios = [b / p for b, p in zip(base.seconds, side.seconds, strict=True)]
        out(
            f"{side.name} / in-process, same round: median {statistics.median(ratios):.2f}x,"
            f" best {max(ratios):.2f}x; results differing from in-process: {mismatches}"
        )

    for workers in (1,) if args.smoke else (1, 2):
        to_timeout, to_next = asyncio.run(stuck_worker(messages[0], workers))
        out(
            f"stuck message, {workers} worker(s), 0.5 s deadline: timeout after {to_timeout:.2f} s,"
            f" next message classified {to_next:.2f} s later"
        )

    kills = [parent_sigkill() for _ in range(args.kills)]
    out(
        f"parent SIGKILL -> both workers gone (one busy): median {statistics.median(kills):.3f} s,"
        f" max {max(kills):.3f} s over {len(kills)} kills"
    )


if __name__ == "__main__":
    main()
