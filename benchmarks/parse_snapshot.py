#!/usr/bin/env python3
"""Snapshot of everything detection.parse returns, to prove a change left the output alone.

Usage: benchmarks/parse_snapshot.py save FILE [--mutations N] [--corpus DIR] [--smoke]
       benchmarks/parse_snapshot.py check FILE [--mutations N] [--corpus DIR] [--smoke]
The snapshot holds the full repr of every ParseResult for each corpus message, each sample
under tests/unit/detection/samples and N deterministic mutations of them (the mutations of
benchmarks/fuzz_parse.py, seed 1234). ``check`` prints how many results differ and the
first few differences; exit status 1 when any does. Keep the file outside the repository
(e.g. /tmp): it is generated data. Speed work on detection is done between a ``save`` before
and a ``check`` after every change.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from _smoke import SMOKE_HELP, arm_deadline
from fuzz_parse import MUTATIONS

from bounce_stream.detection import parse

ROOT = Path(__file__).resolve().parents[1]


def results(corpus: Path, mutations: int) -> list[str]:
    paths = sorted(corpus.rglob("*.eml")) + sorted(
        path for path in (ROOT / "tests/unit/detection/samples").rglob("*") if path.is_file()
    )
    messages = [path.read_bytes() for path in paths]
    out = [repr(parse(data)) for data in messages]
    rng = random.Random(1234)
    for _ in range(mutations):
        data = rng.choice(messages)
        for _ in range(rng.randint(1, 3)):
            data = rng.choice(MUTATIONS)(rng, data)
        out.append(repr(parse(data)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("save", "check"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--mutations", type=int, default=30_000)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/corpus")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    if args.smoke:  # the corpus and samples whole (~0.2 s), few mutations
        args.mutations = 20
        arm_deadline()
    found = results(args.corpus, args.mutations)
    if args.mode == "save":
        args.file.write_text("\n".join(found), encoding="utf-8")
        print(f"{len(found)} results saved to {args.file}")
        return 0
    saved = args.file.read_text(encoding="utf-8").split("\n")
    differ = [
        index for index, (old, new) in enumerate(zip(saved, found, strict=False)) if old != new
    ]
    print(f"{len(found)} results, {len(differ)} differ")
    for index in differ[:5]:
        print(f"- was: {saved[index][:500]}\n+ now: {found[index][:500]}")
    return 1 if differ or len(saved) != len(found) else 0


if __name__ == "__main__":
    sys.exit(main())
