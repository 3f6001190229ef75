#!/usr/bin/env python3
"""Throughput of detection.parse against Sisimai (Debian libsisimai-perl) on the same files.

Usage: benchmarks/bench_parse.py [--corpus DIR] [--rounds N] [--cpu N] [--smoke]
Parses every corpus .eml in this process (after one warm-up pass), then runs ONE perl
process that calls Sisimai->make($path) over the same files and times itself. Both sides
do the same work per message: read the file, then classify it (Sisimai->make reads the
path itself, so the Python pass reads each file inside its timed loop too). Both sides
run --rounds passes and report their best pass (the least disturbed by other load on the
machine). ``--cpu N`` pins this process, and so the perl child, to one CPU (like
``taskset -c N``; one core for both sides either way, as both are single-threaded).
Prints messages per second for both, the ratio, and the peak RSS of each side.
A benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _smoke import SMOKE_HELP, arm_deadline

from bounce_stream.detection import parse

# One perl process; each round over all files is timed inside perl and printed.
PERL_TIMER = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my $rounds = shift @ARGV;
for my $r (1 .. $rounds) {
    my ($n, $events, $t0) = (0, 0, time);
    for my $path (@ARGV) {
        my $v = Sisimai->make($path, 'delivered' => 1, 'vacation' => 1);
        $events += scalar @$v if $v;
        $n++;
    }
    printf "%d %.6f %d\n", $n, time - $t0, $events;
}
"""


def bench_python(paths: list[Path], rounds: int) -> tuple[int, float, int]:
    """(messages per round, best round seconds, events per round); file reads included."""
    for path in paths:  # warm-up: imports, regex compilation, page cache
        parse(path.read_bytes())
    best, events = float("inf"), 0
    for _ in range(rounds):
        started = time.perf_counter()
        events = sum(len(parse(path.read_bytes()).bounces) for path in paths)
        best = min(best, time.perf_counter() - started)
    return len(paths), best, events


def bench_sisimai(paths: list[Path], rounds: int) -> tuple[int, float, int] | None:
    if shutil.which("perl") is None:
        return None
    proc = subprocess.run(
        ["perl", "-e", PERL_TIMER, str(rounds), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not rows:
        print(f"sisimai run failed: {proc.stderr.strip()[:300]}", file=sys.stderr)
        return None
    count, seconds, events = min(rows, key=lambda row: float(row[1]))
    return int(count), float(seconds), int(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parents[1] / "tests/corpus")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cpu", type=int, default=None, help="pin both sides to this CPU")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # inherited by the perl child
    paths = sorted(args.corpus.rglob("*.eml"))
    if args.smoke:
        paths, args.rounds = paths[:40], 1
        arm_deadline()
    size = sum(path.stat().st_size for path in paths) / 1e6
    cpus = sorted(os.sched_getaffinity(0))
    print(f"corpus: {len(paths)} messages, {size:.1f} MB, rounds: {args.rounds}, CPUs: {cpus}")
    count, seconds, events = bench_python(paths, args.rounds)
    py_rate = count / seconds
    py_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bounce-stream: {py_rate:,.0f} msgs/s (best pass: {count} in {seconds:.3f} s)")
    print(f"bounce-stream events per pass: {events}")
    print(f"bounce-stream peak RSS: {py_rss:.1f} MiB")
    sisimai = bench_sisimai(paths, args.rounds)
    if sisimai is None:
        print("sisimai: not available")
        return 0
    s_count, s_seconds, s_events = sisimai
    s_rate = s_count / s_seconds
    s_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"sisimai: {s_rate:,.0f} msgs/s (best pass: {s_count} in {s_seconds:.3f} s)")
    print(f"sisimai events per pass: {s_events}")
    print(f"sisimai peak RSS: {s_rss:.1f} MiB")
    print(f"ratio: {py_rate / s_rate:.2f}x Sisimai")
    return 0


if __name__ == "__main__":
    sys.exit(main())
