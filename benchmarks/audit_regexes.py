#!/usr/bin/env python3
"""Audit every detection regular expression for super-linear backtracking; exit 1 on a finding.

Usage: benchmarks/audit_regexes.py [--verbose]

The patterns are collected by wrapping ``re``'s compile step while every module of
``bounce_stream.detection`` is imported and the unit-test sample bounces are parsed, so
patterns built at run time are audited too. Two checks run on each:

1. regexploit (static analysis, PyPI): nested or adjacent repeats that can share characters,
   which backtrack cubically or worse within one match attempt.
2. A growth probe, for what regexploit does not model: ``search`` restarting at every
   position (the old address search rescanned a long run without "@" from each of its
   characters: quadratic) and quadratic backtracking between two repeats. For every repeat
   longer than MIN_RUN, the pattern's own text up to that repeat is followed by a long run of
   a character the repeat accepts (and, a second time, by a character that breaks the
   match); each string is searched at two sizes. Time growing much faster than the size is
   a finding.

Possessive repeats (``*+``, ``++``) never give characters back: regexploit counts them as
non-backtracking. Runs in a few seconds; part of scripts/test.sh.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import pkgutil
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "unit" / "detection" / "samples"

MIN_RUN = 256  # a repeat allowed to run this far is probed (shorter ones cost a constant)
SMALL, LARGE = 300, 2_400  # probe sizes: 8x the input
GROWTH_LIMIT = 24.0  # linear ~8x, quadratic ~64x
NOISE_SECONDS = 0.003  # below this at LARGE a probe is not a finding, whatever its ratio
CONFIRM_LIMIT = 3.0  # twice LARGE again: linear ~2x, quadratic ~4x (filters load noise)
POOL = "a \n-.0@<:\tZ=\"'_;/(>,x"  # run characters tried, in this order
RUN_CHARS_PER_REPEAT = 4
BREAKER = "\x00"


def pattern_key(pattern: str, flags: int) -> str:
    """A short stable name for a pattern: any change to it makes it audited again."""
    return hashlib.sha1(f"{flags}:{pattern}".encode(), usedforsecurity=False).hexdigest()[:12]


# Patterns the probe flags that are linear where the package uses them, or not yet fixed.
# Keyed by pattern_key: editing a pattern drops it from here and audits it again.
_MATCH_ONLY = "used with match/fullmatch only: one attempt, linear"
KNOWN: dict[str, str] = {
    # headers.ADDRESS_RE: fullmatch, and embedded after an anchor; searching goes through
    # find_addresses / addresses_in / first_address, which start only at a run start.
    "7486fb291d12": _MATCH_ONLY,
    "ef0368dfd07c": _MATCH_ONLY,  # headers._ADDRESS_HERE
    "bad7fa45b5b2": _MATCH_ONLY,  # textscan._BLANKS_THEN_DASH
    "b7586379451f": _MATCH_ONLY,  # datetimes._COMMON_DATE
    "a328b800aa49": _MATCH_ONLY,  # arf._JMRP_SUBJECT
    "dde2bfab5f40": _MATCH_ONLY,  # data._CODE_TOKEN (fullmatch of one stripped row)
    "90da474205b4": _MATCH_ONLY,  # context._HEADER_LINE (one header line at a time)
    "63f68df5a567": _MATCH_ONLY,  # correlate._ONE_MSG_ID (fullmatch of In-Reply-To)
    # rfc3464._PARAGRAPH: matched at one line start per recipient found in the text.
    "3296fbd8bc95": _MATCH_ONLY,
    # domino._BECAUSE: regexploit's example matches at once ("$" without MULTILINE ends the
    # lazy group); 80k newlines, blanks or "\n " pairs: < 1 ms.
    "7897235d9566": "regexploit's cubic example matches at once; measured linear",
    "15bb38da0022": "reads the package's own phrase patterns, never mail",
}


def collect_patterns() -> dict[tuple[str, int], str]:
    """(pattern, flags) -> where it was first compiled, for every pattern the package uses."""
    found: dict[tuple[str, int], str] = {}
    compile_step: Callable[[Any, Any], Any] = re._compile  # type: ignore[attr-defined]

    def recording(pattern: Any, flags: Any) -> Any:
        if isinstance(pattern, str):
            frame = sys._getframe(1)
            while frame.f_back is not None and frame.f_code.co_filename == re.__file__:
                frame = frame.f_back
            filename = frame.f_code.co_filename
            if "bounce_stream" in Path(filename).parts:
                where = Path(filename).relative_to(REPO) if REPO in Path(filename).parents else ""
                found.setdefault((pattern, int(flags)), f"{where or filename}:{frame.f_lineno}")
        return compile_step(pattern, flags)

    re._compile = recording  # type: ignore[attr-defined]
    try:
        package = importlib.import_module("bounce_stream.detection")
        for module in pkgutil.walk_packages(package.__path__, "bounce_stream.detection."):
            importlib.import_module(module.name)
        from bounce_stream.detection import parse  # noqa: PLC0415 (after the hook)

        for path in sorted(SAMPLES.glob("*.eml")):
            parse(path.read_bytes())
    finally:
        re._compile = compile_step  # type: ignore[attr-defined]
    # Patterns compiled before the hook (already imported) are found in module globals.
    seen = {pattern for pattern, _ in found}
    for name, module in list(sys.modules.items()):
        if name.startswith("bounce_stream.detection"):
            for value in vars(module).values():
                if (
                    isinstance(value, re.Pattern)
                    and isinstance(value.pattern, str)
                    and value.pattern not in seen
                ):
                    found[(value.pattern, value.flags & ~re.UNICODE)] = name
    return found


# --------------------------------------------------------------------------- regexploit


def regexploit_findings(pattern: str, flags: int) -> list[str]:
    """regexploit's cubic-or-worse findings, each as "starriness N: example"."""
    from regexploit.ast.repeat import InfiniteRepeat  # noqa: PLC0415
    from regexploit.ast.sre import SreOpParser  # noqa: PLC0415
    from regexploit.redos import find  # noqa: PLC0415

    class Parser(SreOpParser):  # type: ignore[misc]
        """regexploit predates possessive repeats and atomic groups (Python 3.11)."""

        def from_POSSESSIVE_REPEAT(self, data: Any) -> Any:
            parsed = self.from_MAX_REPEAT(data)
            if isinstance(parsed, InfiniteRepeat):  # matches like a repeat, never backtracks
                return InfiniteRepeat(parsed.repeat, parsed.minimum_repeats, 0)
            return parsed

        def from_ATOMIC_GROUP(self, data: Any) -> Any:
            return self.sequence_or_singleton(data)

    parsed = Parser().parse_sre(pattern, flags)
    if parsed is None:
        return []
    return [f"starriness {found.starriness}: {found.example()}" for found in find(parsed)]


# --------------------------------------------------------------------------- growth probe


def _accepts(op: Any, data: Any, char: str, ignore_case: bool) -> bool | None:
    """Whether the single-character node (op, data) accepts ``char``; None when not one."""
    code = ord(char)
    codes = {code, ord(char.lower()), ord(char.upper())} if ignore_case else {code}
    if op is sre.LITERAL:
        return data in codes
    if op is sre.NOT_LITERAL:
        return data not in codes
    if op is sre.ANY:
        return char != "\n"  # without DOTALL; with it the probe only misses a "\n" run
    if op is sre.IN:
        negate = bool(data) and data[0][0] is sre.NEGATE
        hit = any(_in_item(item_op, item_data, codes, char) for item_op, item_data in data)
        return hit != negate
    return None


def _in_item(op: Any, data: Any, codes: set[int], char: str) -> bool:
    if op is sre.LITERAL:
        return data in codes
    if op is sre.RANGE:
        return any(data[0] <= code <= data[1] for code in codes)
    if op is sre.CATEGORY:
        name = str(data)
        if "DIGIT" in name:
            found = char.isdigit()
        elif "SPACE" in name:
            found = char.isspace()
        elif "WORD" in name:
            found = char.isalnum() or char == "_"
        else:
            return False
        return found != ("NOT" in name)
    return False


def _first_accepts(items: Any, char: str, ignore_case: bool) -> bool:
    """Whether the sequence ``items`` can start with ``char`` (approximately)."""
    for op, data in items:
        single = _accepts(op, data, char, ignore_case)
        if single is not None:
            return single
        if op is sre.SUBPATTERN:
            return _first_accepts(data[3], char, ignore_case)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            return _first_accepts(data[2], char, ignore_case)
        if op is sre.BRANCH:
            return any(_first_accepts(branch, char, ignore_case) for branch in data[1])
        if op is sre.ATOMIC_GROUP:
            return _first_accepts(data, char, ignore_case)
        # anchors and assertions take no character: look at what follows
    return False


def _example(items: Any) -> str:
    """A short string the sequence ``items`` matches (approximately)."""
    out = []
    for op, data in items:
        if op is sre.LITERAL:
            out.append(chr(data))
        elif op in (sre.NOT_LITERAL, sre.ANY, sre.IN):
            out.append(next((c for c in POOL if _accepts(op, data, c, False)), "a"))
        elif op is sre.SUBPATTERN:
            out.append(_example(data[3]))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            out.append(_example(data[2]) * data[0])
        elif op is sre.BRANCH:
            out.append(_example(data[1][0]))
        elif op is sre.ATOMIC_GROUP:
            out.append(_example(data))
    return "".join(out)


def probe_strings(pattern: str, flags: int) -> Iterator[tuple[str, str]]:
    """(prefix, run character) for every long repeat of the pattern."""
    ignore_case = bool(flags & re.IGNORECASE) or pattern.startswith("(?i")
    seen: set[tuple[str, str]] = set()

    def walk(items: Any, prefix: str) -> Iterator[tuple[str, str]]:
        items = list(items)
        for index, (op, data) in enumerate(items):
            before = prefix + _example(items[:index])
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                _low, high, body = data
                if high is sre.MAXREPEAT or high >= MIN_RUN:
                    chars = [c for c in POOL if _first_accepts(body, c, ignore_case)]
                    for char in chars[:RUN_CHARS_PER_REPEAT]:
                        if (before, char) not in seen:
                            seen.add((before, char))
                            yield before, char
                yield from walk(body, before)
            elif op is sre.SUBPATTERN:
                yield from walk(data[3], before)
            elif op is sre.BRANCH:
                for branch in data[1]:
                    yield from walk(branch, before)
            elif op is sre.ATOMIC_GROUP:
                yield from walk(data, before)

    yield from walk(sre_parse.parse(pattern, flags), "")


def _search_time(compiled: re.Pattern[str], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        compiled.search(text)
        best = min(best, time.perf_counter() - started)
    return best


def growth_findings(pattern: str, flags: int) -> list[str]:
    """Probe strings whose search time grows super-linearly with their length."""
    compiled = re.compile(pattern, flags)
    findings = []
    for prefix, char in probe_strings(pattern, flags):
        for tail in ("", BREAKER):
            large = _search_time(compiled, prefix + char * LARGE + tail, 1)
            if large < NOISE_SECONDS:
                continue
            small = _search_time(compiled, prefix + char * SMALL + tail, 5)
            large = min(large, _search_time(compiled, prefix + char * LARGE + tail, 2))
            ratio = large / max(small, 1e-7)
            if ratio <= GROWTH_LIMIT or large < NOISE_SECONDS:
                continue
            double = _search_time(compiled, prefix + char * LARGE * 2 + tail, 3)
            if double / large > CONFIRM_LIMIT:
                return [
                    f"x{LARGE // SMALL} input -> x{ratio:.0f} time ({large * 1000:.1f} ms): "
                    f"{prefix[:40]!r} + {char!r} * n + {tail!r}"
                ]
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every pattern audited")
    args = parser.parse_args()
    started = time.perf_counter()
    patterns = collect_patterns()
    failures = known = 0
    for (pattern, flags), where in sorted(patterns.items(), key=lambda item: item[1]):
        key = pattern_key(pattern, flags)
        if key in KNOWN:
            known += 1
            if args.verbose:
                print(f"{where}: known ({key}): {KNOWN[key]}")
            continue
        findings = regexploit_findings(pattern, flags) + growth_findings(pattern, flags)
        if args.verbose or findings:
            print(f"{where} ({key}): {pattern[:100]!r}{'...' if len(pattern) > 100 else ''}")
        for finding in findings:
            print(f"    {finding}")
        failures += bool(findings)
    print(
        f"regex audit: {len(patterns)} patterns, {failures} super-linear, {known} known "
        f"(listed in KNOWN with the reason), {time.perf_counter() - started:.1f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
