"""textscan's fast forms find exactly what the plain regex searches find."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection.mta import textscan

SAMPLES = Path(__file__).parent / "samples"
LINE_PATTERNS = (textscan.RECIPIENT_LINE, textscan.TRAILING_RECIPIENT)

FRAGMENTS = [
    "a@b.example",
    "<a@b.example>",
    '"a@b.example":',
    "  a@b.example",
    "\n",
    "\n\n",
    " ",
    "\t",
    ":",
    "...",
    ",",
    ">>> ",
    "550-5.1.1 ",
    "550 ",
    "* ",
    "\u2022 ",
    "- ",
    "RCPT TO: ",
    "Recipient: ",
    "address:",
    "on Mon",
    "(user unknown)",
    "<x@y.example>",
    "[mx.example]",
    "Invalid final delivery userid: ",
    "From: ",
    "X-Foo: ",
    "unknown user",
    "@",
    "@@",
    "K",
    "\u017f",
    "\u0131",
    "é",
    ".",
    ")",
    ">",
]


def _assert_same(text: str) -> None:
    for pattern in LINE_PATTERNS:
        expected = [(m.span(), m.groups()) for m in pattern.finditer(text)]
        found = [(m.span(), m.groups()) for m in textscan.address_lines(pattern, text)]
        assert found == expected, (pattern.pattern, text)


def test_address_line_patterns_are_multiline_line_patterns() -> None:
    # address_lines relies on it: a match starts at a line start, ends at a line end and
    # holds an address (so an "@").
    for pattern in LINE_PATTERNS:
        assert pattern.flags & re.MULTILINE
        assert pattern.pattern.startswith("^[ \\t]*")
        assert pattern.pattern.endswith("$")
        assert textscan._ADDR in pattern.pattern


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_address_lines_is_finditer(parts: list[str]) -> None:
    _assert_same("".join(parts))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("a@b.<>:\n \t\"'()[]-5,"), max_size=80))
def test_address_lines_is_finditer_on_arbitrary_text(text: str) -> None:
    _assert_same(text)


def test_address_lines_is_finditer_on_samples() -> None:
    for path in sorted(SAMPLES.glob("*.eml")):
        _assert_same(path.read_bytes().decode("latin-1"))
