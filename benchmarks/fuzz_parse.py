#!/usr/bin/env python3
"""Mutation fuzzing of detection.parse over the corpus; prints cases and exceptions.

Usage: benchmarks/fuzz_parse.py [--cases N] [--seconds S] [--corpus DIR]
Each case takes a corpus message and applies one to three random mutations (truncation,
byte flips, inserted junk, duplicated or deleted slices, newline rewrites, boundary and
header damage). ``parse`` must never raise: it returns ``error`` for non-messages.
Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bounce_stream.detection import parse
from bounce_stream.detection.engine import classify
from bounce_stream.detection.model import ParseOptions

Mutation = Callable[[random.Random, bytes], bytes]
JUNK = [
    b"\x00",
    b"\xff\xfe",
    b"\r",
    b"\n\n",
    b"--",
    b"=?utf-8?B?",
    b"Content-Type: multipart/mixed; boundary=x\n",
    b"Final-Recipient: rfc822; a@b\n",
    b"<a@b>:\n",
    b"\t",
    b"=\n",
    b";",
]


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def insert(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(JUNK) * rng.randint(1, 50) + data[at:]


def duplicate(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 2000)]
    return data[:start] + piece * rng.randint(2, 30) + data[start:]


def delete(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 500) :]


def newlines(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\r", b""]))


def damage_boundaries(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"boundary=", rng.choice([b'boundary="', b"boundary=;", b"b="]))


MUTATIONS: list[Mutation] = [truncate, flip, insert, duplicate, delete, newlines, damage_boundaries]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parents[2] / "shared/corpus")
    args = parser.parse_args()
    seeds = [path.read_bytes() for path in sorted(args.corpus.rglob("*.eml"))]
    if not seeds:
        print(f"no .eml files under {args.corpus}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    options = ParseOptions(verp_separator="+")
    cases = exceptions = 0
    slowest = 0.0
    deadline = time.monotonic() + args.seconds
    while cases < args.cases and time.monotonic() < deadline:
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            data = rng.choice(MUTATIONS)(rng, data)
        started = time.perf_counter()
        try:
            classify(data, options)  # the raw engine: parse() would hide exceptions
        except Exception:  # counting them is the point
            exceptions += 1
            if exceptions <= 5:
                traceback.print_exc()
        slowest = max(slowest, time.perf_counter() - started)
        parse(data, options)
        cases += 1
    print(f"cases: {cases}")
    print(f"exceptions: {exceptions}")
    print(f"slowest case: {slowest * 1000:.1f} ms")
    return 1 if exceptions else 0


if __name__ == "__main__":
    sys.exit(main())
