"""Mutation check of the detection tables: delete one row, run the tests, count survivors.

A row of a provider table, a reason phrase or pattern alternative, a local-delivery-agent
message or a status mapping that can be deleted with every test still passing is pinned by
nothing. This script deletes a sample of them one at a time (each in its own pytest run, the
deletion applied in memory by this module acting as a pytest plugin) and prints the ones
that survive:

    .venv/bin/python -m dev.table_mutations --sample 40 --seed 1
    .venv/bin/python -m dev.table_mutations --only 'status:5.2.2'

A survivor is marked "covered" when the deleted row's own wording still gets the same verdict
from another row (the deletion changes no decision on it: no test can see it), else
"UNPINNED". Exit status 1 when an unpinned mutation survives.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bounce_stream.detection import decide, lda, reasontext, rhost, statuscodes
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext.matcher import TextMatcher, alternatives
from bounce_stream.detection.rhost.base import ProviderRules

ENV = "BOUNCE_STREAM_MUTATION"
ROOT = Path(__file__).resolve().parents[1]
# The detection tests that pin tables and rules (the hypothesis equivalence suites are left
# out: they compare fast and plain forms of the same table, which a deletion changes alike).
TESTS = [
    "tests/unit/detection/" + name
    for name in (
        "test_provider_tables.py",
        "test_provider_rules.py",
        "test_rules.py",
        "test_lab_wording.py",
        "test_mta_wording.py",
        "test_samples.py",
        "test_corpus.py",
        "test_lda.py",
        "test_remote_host.py",
        "test_autoreply.py",
        "test_generic_fallback.py",
        "test_mta_layouts.py",
        "test_table_rows.py",
    )
]


def candidates() -> list[str]:
    """Every deletable row, as a mutation id."""
    found: list[str] = []
    for provider in rhost.PROVIDERS:
        if not isinstance(provider, ProviderRules):
            continue
        found += [f"code:{provider.name}:{code}" for code in provider.codes]
        for name in ("phrases", "status_rows", "parts"):
            rows = getattr(provider, name)
            found += [f"row:{provider.name}:{name}:{i}" for i in range(len(rows))]
    for reason, matcher in reasontext.MATCHERS.items():
        found += [f"phrase:{reason.value}:{i}" for i in range(len(matcher.substrings))]
        found += [
            f"alternative:{reason.value}:{i}" for i in range(len(alternatives(matcher.pattern)))
        ]
    found += [f"lda:{i}" for i in range(len(lda.AGENT_MESSAGES))]
    found += [f"status:{code}" for code in statuscodes.STANDARD_REASONS]
    return found


def apply(mutation: str) -> str:
    """Delete the row ``mutation`` names, in memory; a description of what was deleted."""
    kind, _, rest = mutation.partition(":")
    if kind in ("code", "row"):
        name, _, key = rest.partition(":")
        (provider,) = [p for p in rhost.PROVIDERS if p.name == name]
        if kind == "code":
            codes = dict(provider.codes)  # type: ignore[attr-defined]
            deleted = f"{key} -> {codes.pop(key).value}"
            new = replace(provider, codes=codes)  # type: ignore[type-var]
        else:
            field, _, index = key.partition(":")
            rows = list(getattr(provider, field))
            deleted = repr(rows.pop(int(index)))
            new = replace(provider, **{field: tuple(rows)})  # type: ignore[type-var]
        rhost.PROVIDERS = tuple(new if p is provider else p for p in rhost.PROVIDERS)
        rhost._SPECIFIC = tuple(new if p is provider else p for p in rhost._SPECIFIC)
        rhost._UNIVERSAL = tuple(new if p is provider else p for p in rhost._UNIVERSAL)
        return deleted
    if kind in ("phrase", "alternative"):
        value, _, index = rest.partition(":")
        reason = Reason(value)
        matcher = reasontext.MATCHERS[reason]
        phrases, parts = list(matcher.substrings), alternatives(matcher.pattern)
        deleted = repr((phrases if kind == "phrase" else parts).pop(int(index)))
        reasontext.MATCHERS[reason] = TextMatcher(
            substrings=tuple(phrases), pattern="|".join(parts), unless=matcher.unless
        )
        words = frozenset(w for m in reasontext.MATCHERS.values() for w in m.words)
        reasontext.INDEXED_WORDS = words
        decide.INDEXED_WORDS = words  # type: ignore[attr-defined]  # decide imports the name
        decide._STRONG_TRIED = decide._tried(decide.STRONG_ORDER)
        decide._WEAK_TRIED = decide._tried(decide.WEAK_TEXT_ORDER)
        return deleted
    if kind == "lda":
        rows = list(lda.AGENT_MESSAGES)
        deleted = repr(rows.pop(int(rest)))
        lda.AGENT_MESSAGES = tuple(rows)
        return deleted
    if kind == "status":
        return f"{rest} -> {statuscodes.STANDARD_REASONS.pop(rest).value}"
    raise ValueError(f"unknown mutation {mutation!r}")


def pytest_configure(config: pytest.Config) -> None:
    """Plugin hook: apply the mutation named in the environment before any test runs."""
    mutation = os.environ.get(ENV)
    if mutation:
        apply(mutation)


def survives(mutation: str) -> bool:
    """Whether every test still passes with ``mutation`` applied."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "dev.table_mutations", *[t for t in TESTS if (ROOT / t).exists()]]
    env = {**os.environ, ENV: mutation}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=40, help="mutations to try (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", default=[], help="this mutation id")
    parser.add_argument(
        "--kind",
        action="append",
        default=[],
        help="sample only these kinds (code, row, phrase, alternative, lda, status)",
    )
    args = parser.parse_args()
    pool = [m for m in candidates() if not args.kind or m.split(":", 1)[0] in args.kind]
    chosen = args.only or (
        random.Random(args.seed).sample(pool, args.sample) if args.sample else pool
    )
    print(f"{len(pool)} deletable rows; trying {len(chosen)}", flush=True)
    started = time.monotonic()
    survivors, unpinned = [], []
    for mutation in chosen:
        what = in_child("apply", mutation)[:100]
        if not survives(mutation):
            print(f"killed    {mutation}  {what}", flush=True)
            continue
        survivors.append(mutation)
        if in_child("covered", mutation) == "True":
            print(f"SURVIVES  {mutation}  {what}  (covered: same verdict without it)", flush=True)
        else:
            unpinned.append(mutation)
            print(f"SURVIVES  {mutation}  {what}  (UNPINNED)", flush=True)
    print(
        f"{len(survivors)} of {len(chosen)} mutations survive, {len(unpinned)} of them unpinned "
        f"(the others: another row of the same table gives the deleted row's own wording the "
        f"same verdict) ({time.monotonic() - started:.0f} s)"
    )
    return 1 if unpinned else 0


def covered(mutation: str) -> bool:
    """Whether the deleted row's own wording gets the same verdict without it (another row
    covers it: the deletion changes no decision on that wording)."""
    kind, _, rest = mutation.partition(":")
    if kind in ("phrase", "alternative"):
        value, _, index = rest.partition(":")
        matcher = reasontext.MATCHERS[Reason(value)]
        if kind == "phrase":
            text = f"x {matcher.substrings[int(index)]} x"
        else:
            text = f"x {_example(alternatives(matcher.pattern)[int(index)])} x"
        before = decide.match_text(text)
        apply(mutation)
        return before is not None and decide.match_text(text) is before
    if kind == "row":
        name, _, key = rest.partition(":")
        field, _, index = key.partition(":")
        (provider,) = [p for p in rhost.PROVIDERS if p.name == name]
        row = getattr(provider, field)[int(index)]
        status = None
        if field == "status_rows":
            status = row.status if row.low < 0 else f"{row.status}{row.low}"
            text = f"550 {status} {row.phrase}"
        elif field == "parts":
            text = " x ".join(row[0])
        else:
            text = f"550 {row[0]}"
        before = provider.reason(text, status, None)
        apply(mutation)
        (after,) = [p for p in rhost.PROVIDERS if p.name == name]
        return before is not None and after.reason(text, status, None) is before
    return False


def _example(pattern: str) -> str:
    """The simplest text ``pattern`` matches whole (hypothesis' shrunk example)."""
    from hypothesis import HealthCheck, find, settings  # noqa: PLC0415 (dev-only dependency)
    from hypothesis import strategies as st  # noqa: PLC0415

    return find(
        st.from_regex(pattern, fullmatch=True).map(str.lower),
        lambda text: bool(text.strip()),
        settings=settings(database=None, suppress_health_check=list(HealthCheck)),
    )


def in_child(function: str, mutation: str) -> str:
    """``function(mutation)`` of this module run in a child process (the tables here stay
    whole), printed."""
    code = f"from dev.table_mutations import {function}; print({function}({mutation!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
