"""The invariant behind textutil.lowers_safely, checked over every code point."""

from __future__ import annotations

import re
import sys

from bounce_stream.detection import textutil

KELVIN = "\u212a"


def test_lower_case_variants_find_the_same_in_safely_lowered_text() -> None:
    # Outside _CASE_TRAPS, lower-casing a character keeps it one character, keeps it in or
    # out of \w, \s, \d and "\n", yields an ASCII character only from an ASCII one or the
    # Kelvin sign, and yields an ASCII letter exactly when (?i) matches it to that letter.
    # So a lower-case ASCII pattern (lower_case_variant) matches the lower-cased text where
    # its (?i) original matches the text.
    any_letter = re.compile(r"(?i)[a-z]")
    letter = {chr(code): re.compile("(?i)" + chr(code)) for code in range(ord("a"), ord("z") + 1)}
    classes = (re.compile(r"\w"), re.compile(r"\s"), re.compile(r"\d"))
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char in textutil._CASE_TRAPS:
            continue
        lowered = char.lower()
        assert len(lowered) == 1, hex(code)
        for pattern in classes:
            assert (pattern.match(char) is None) == (pattern.match(lowered) is None), hex(code)
        assert (char == "\n") == (lowered == "\n")
        if lowered.isascii():
            assert char.isascii() or char == KELVIN, hex(code)
        if any_letter.match(char) is not None:
            matched = [x for x, pattern in letter.items() if pattern.match(char)]
            assert matched == [lowered], hex(code)
        else:
            assert lowered not in letter, hex(code)


def test_lowers_safely() -> None:
    assert textutil.lowers_safely("Plain ASCII")
    assert textutil.lowers_safely("Größe Ä \u212a \u0438")
    for trap in textutil._CASE_TRAPS:
        assert not textutil.lowers_safely("x" + trap)
