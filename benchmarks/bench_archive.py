#!/usr/bin/env python3
"""What the raw archive costs: gzip ratio and CPU time per MB at each compression level.

Usage: benchmarks/bench_archive.py [--corpus DIR] [--rounds N] [--smoke]
Builds the archive record (``publishing.archive.archive_record``, the worker's code path) of
every file in the corpus, one record per message as the service writes them, and also of the
corpus joined into one 1 MiB message (the default ``kafka.archive_max_bytes``): the worst
case for one message. Prints, per gzip level, the ratio raw/compressed and the best-of-N
milliseconds per MB. The event loop runs this compression: ms/MB times a batch's bytes is
how long a batch holds it. A benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from _smoke import SMOKE_HELP, arm_deadline

from bounce_stream.publishing import archive

ROOT = Path(__file__).resolve().parents[1]


def _best_ms(work: list[bytes], level: int, rounds: int) -> tuple[float, int]:
    origin = archive.Origin("imap://u@h:993/INBOX", 1, 1, datetime.now(UTC))
    best, size = float("inf"), 0
    for _ in range(rounds):
        started = time.perf_counter()
        records = [
            archive.archive_record("t", "k", raw, origin, len(raw), level=level) for raw in work
        ]
        best = min(best, time.perf_counter() - started)
        size = sum(len(r.value or b"") for r in records)
    return best * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file())
    if args.smoke:
        files, args.rounds = files[:40], 1
        arm_deadline()
    messages = [p.read_bytes() for p in files]
    joined = b"".join(messages)[: 1 << 20]
    print(f"corpus: {len(messages)} messages, {sum(map(len, messages)) / 1e6:.2f} MB")
    print(f"the service uses gzip level {archive.COMPRESS_LEVEL}")
    for label, work in (("per message", messages), ("one 1 MiB message", [joined])):
        total = sum(map(len, work))
        for level in (1, 6, 9):
            ms, size = _best_ms(work, level, args.rounds)
            print(
                f"{label:>18}  level {level}: ratio {total / size:.2f}, "
                f"{ms / (total / 1e6):.1f} ms per MB"
            )


if __name__ == "__main__":
    main()
