#!/usr/bin/env python3
"""Mutation and adversarial fuzzing of detection.parse; prints exceptions and time per kB.

Usage: benchmarks/fuzz_parse.py [--cases N] [--seconds S] [--corpus DIR] [--seed N]
                                [--adversarial-kb K] [--adversarial-only] [--smoke]
1. Mutation: each case takes a corpus message and applies one to three random mutations
   (truncation, byte flips, inserted junk, duplicated or deleted slices, newline rewrites,
   boundary and header damage). ``parse`` must never raise: it returns ``error`` for
   non-messages. Deterministic for a given --seed.
2. Adversarial: hostile shapes of about K kB (default 199): long runs without the delimiter
   a pattern waits for (inserted into one bounce of every corpus family), huge header
   values, a Final-Recipient without "@", many "@"s, many MIME parts, many recipients, deep
   nesting, long lines without spaces, punycode and other odd charsets. Each is classified
   once and timed; the worst ms/kB and its case are printed (linear detection keeps every
   case within a few ms/kB). Exceptions count as in 1.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from _smoke import SMOKE_HELP, arm_deadline

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

# --------------------------------------------------------------------------- adversarial

# Runs inserted into real bounces: each is something a pattern may scan while waiting for a
# delimiter that never comes.
RUNS = [
    b"\n",
    b" ",
    b"\t",
    b"a",
    b"-",
    b"<",
    b">",
    b":",
    b"@",
    b".",
    b"=",
    b"_",
    b"5",
    b"(",
    b'"',
    b"\n ",
    b"a ",
    b"a@",
    b"a-",
    b"a.",
    b"\r\n",
    b"=?",
    b"--",
    b"\n\n",
    b"550 ",
]
REPORT = (
    b"From: MAILER-DAEMON@mx.example.test\nTo: sender@example.test\n"
    b"Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
)


def _fill(piece: bytes, size: int) -> bytes:
    return piece * max(1, size // len(piece))


def _dsn(recipient_blocks: bytes, extra_head: bytes = b"") -> bytes:
    return (
        REPORT
        + extra_head
        + b"Content-Type: multipart/report; report-type=delivery-status; boundary=BB\n\n"
        b"--BB\nContent-Type: text/plain\n\nDelivery to the following recipient failed.\n\n"
        b"--BB\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n\n"
        + recipient_blocks
        + b"\n--BB--\n"
    )


def _block(recipient: bytes) -> bytes:
    return (
        b"Final-Recipient: rfc822; " + recipient + b"\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
    )


def _text_bounce(body: bytes) -> bytes:
    return (
        REPORT + b"Content-Type: text/plain\n\nThis is the mail system at host mx.example.test.\n"
        b"I'm sorry to have to inform you that your message could not\nbe delivered to one or "
        b"more recipients.\n\n" + body + b"\n\n<user@example.org>: host mx.example.org said:"
        b" 550 5.1.1 user unknown\n"
    )


def _charset_part(charset: bytes, payload: bytes) -> bytes:
    return (
        REPORT
        + b"Content-Type: text/plain; charset="
        + charset
        + b"\nContent-Transfer-Encoding: quoted-printable\n\n"
        + payload
    )


def _nested(depth: int) -> bytes:
    head = REPORT + b"Content-Type: multipart/mixed; boundary=b0\n\n"
    return head + b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (level - 1, level)
        for level in range(1, depth)
    )


def _enclosed(depth: int) -> bytes:
    part = b"Content-Type: message/rfc822\n\n"
    return REPORT + part * depth + b"Subject: x\n\nbody\n"


def shaped_cases(size: int) -> list[tuple[str, bytes]]:
    """Hostile messages of about ``size`` bytes, built from scratch."""
    parts = max(1, size // 60)
    return [
        ("final-recipient without @", _dsn(_block(_fill(b"x", size)))),
        ("final-recipient of dots", _dsn(_block(_fill(b"a.", size)))),
        ("final-recipient of @s", _dsn(_block(_fill(b"@", size)))),
        ("final-recipient after <", _dsn(_block(b"<" + _fill(b"x", size)))),
        ("huge subject", _dsn(_block(b"a@b.test"), b"Subject: " + _fill(b"x", size) + b"\n")),
        ("huge to without spaces", _dsn(_block(b"a@b.test"), b"To: " + _fill(b"a", size) + b"\n")),
        ("huge to of @s", _dsn(_block(b"a@b.test"), b"X-To: " + _fill(b"a@", size) + b"\n")),
        ("huge folded header", _dsn(_block(b"a@b.test"), b"X-Long: a\n" + _fill(b" b\n", size))),
        ("many header fields", _dsn(_block(b"a@b.test"), _fill(b"X-A: b\n", size))),
        (
            "many encoded words",
            _dsn(_block(b"a@b.test"), b"Subject: " + _fill(b"=?utf-8?B?YQ==?= ", size) + b"\n"),
        ),
        (
            "many recipients (dsn)",
            _dsn(b"".join(_block(b"u%d@example.org" % n) for n in range(size // 110))),
        ),
        (
            "many recipients (text)",
            _text_bounce(
                b"".join(b"<u%d@example.org>: 550 unknown\n" % n for n in range(size // 32))
            ),
        ),
        ("long line without spaces", _text_bounce(_fill(b"a", size))),
        ("long line of address characters", _text_bounce(_fill(b"a-.", size))),
        (
            "many mime parts",
            REPORT
            + b"Content-Type: multipart/mixed; boundary=p\n\n"
            + _fill(b"--p\nContent-Type: text/plain\n\nx\n", size)
            + b"--p--\n",
        ),
        (
            "many empty mime parts",
            REPORT + b"Content-Type: multipart/mixed; boundary=p\n\n" + _fill(b"--p\n", size),
        ),
        (
            "boundary look-alikes",
            REPORT + b"Content-Type: multipart/mixed; boundary=p\n\n" + _fill(b"--p--x\n", size),
        ),
        ("deep multipart nesting", _nested(parts)),
        ("deep message/rfc822 nesting", _enclosed(parts)),
        ("charset punycode", _charset_part(b"punycode", b"x" * 1000 + b"-" + _fill(b"9", size))),
        ("charset idna", _charset_part(b"idna", b"xn--" + _fill(b"9", size))),
        ("charset utf-7", _charset_part(b"utf-7", _fill(b"+AGEA-", size))),
        ("charset iso-2022-jp", _charset_part(b"iso-2022-jp", _fill(b"\x1b$B$\x22\x1b(B", size))),
        (
            "charset utf-16 base64",
            REPORT
            + b"Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n"
            + _fill(b"AGEAYgBj", size),
        ),
    ]


def run_cases(seeds: dict[str, bytes], size: int) -> list[tuple[str, bytes]]:
    """``size`` bytes of each of RUNS inserted into one bounce of every corpus family, at the
    start and in the middle of its body."""
    cases = []
    for family, raw in seeds.items():
        body = raw.find(b"\n\n") + 2
        for run in RUNS:
            for where, at in (("start", body), ("middle", body + (len(raw) - body) // 2)):
                cases.append(
                    (
                        f"{family}: {run!r} run at body {where}",
                        raw[:at] + _fill(run, size) + raw[at:],
                    )
                )
    return cases


def adversarial(seeds: dict[str, bytes], size: int, options: ParseOptions) -> tuple[int, int]:
    """Classify every adversarial case once; print the slowest per kB. (cases, exceptions)"""
    timings: list[tuple[float, float, str]] = []
    exceptions = 0
    for name, data in shaped_cases(size) + run_cases(seeds, size):
        started = time.perf_counter()
        try:
            classify(data, options)
        except Exception:  # counting them is the point
            exceptions += 1
            if exceptions <= 5:
                print(f"adversarial case {name}:", file=sys.stderr)
                traceback.print_exc()
        elapsed = time.perf_counter() - started
        timings.append((elapsed * 1000 / (len(data) / 1024), elapsed, name))
    timings.sort(reverse=True)
    print(f"adversarial cases: {len(timings)} of ~{size // 1024} kB")
    for per_kb, elapsed, name in timings[:8]:
        print(f"  {per_kb:7.3f} ms/kB {elapsed * 1000:8.1f} ms  {name}")
    per_kb, elapsed, name = timings[0]
    print(f"worst: {per_kb:.3f} ms/kB ({elapsed * 1000:.1f} ms): {name}")
    return len(timings), exceptions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parents[1] / "tests/corpus")
    parser.add_argument("--adversarial-kb", type=int, default=199)
    parser.add_argument("--adversarial-only", action="store_true")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.adversarial_kb = 100, 2
        arm_deadline()
    paths = sorted(args.corpus.rglob("*.eml"))
    seeds = [path.read_bytes() for path in paths]
    if not seeds:
        print(f"no .eml files under {args.corpus}", file=sys.stderr)
        return 2
    options = ParseOptions(verp_separator="+")
    cases = exceptions = 0
    if not args.adversarial_only:
        cases, exceptions = mutate(seeds, args, options)
    families: dict[str, bytes] = {}
    for path in paths:  # one bounce per family ("lhost-postfix-07.eml" -> "lhost-postfix")
        families.setdefault(path.stem.rsplit("-", 1)[0], path.read_bytes())
    if args.smoke:
        families = dict(list(families.items())[:3])
    more, failed = adversarial(families, args.adversarial_kb * 1024, options)
    print(f"exceptions: {exceptions + failed} in {cases + more} cases")
    return 1 if exceptions + failed else 0


def mutate(seeds: list[bytes], args: argparse.Namespace, options: ParseOptions) -> tuple[int, int]:
    """The mutation phase: (cases, exceptions)."""
    rng = random.Random(args.seed)
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
    return cases, exceptions


if __name__ == "__main__":
    sys.exit(main())
