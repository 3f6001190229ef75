"""Fast forms used by detection give exactly what the plain forms they replace give."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection.datetimes import parse_date
from bounce_stream.detection.reasontext.matcher import _needed_literals, token_list, tokens_of

_TOKEN = re.compile(r"[a-z0-9]+")

# Latin-1 and beyond: accented letters, digits, the dotless i, Cyrillic, CJK, white space.
_TEXT = st.text(
    alphabet=st.sampled_from(list("abz09 .-_:\n\t\xe9\xdf\xff\xa0\u0131\u0430\u65e5\U0001f600")),
    max_size=200,
)


@settings(max_examples=2000, deadline=None)
@given(_TEXT)
def test_tokens_are_those_of_the_regular_expression(text: str) -> None:
    assert token_list(text) == _TOKEN.findall(text)
    assert tokens_of(text) == frozenset(_TOKEN.findall(text))


def test_needed_literals_of_plain_word_groups() -> None:
    # The words of a group of plain literals when their shortest beats the longest literal run.
    assert _needed_literals(r"(?:missing|invalid)[ ]x") == ("missing", "invalid")
    assert _needed_literals(r"(?:ab|cd) long literal") == (" long literal",)
    # An optional group, an empty alternative or a class inside proves nothing.
    assert _needed_literals(r"(?:missing|invalid)?[ ]x") == (" x",)
    assert _needed_literals(r"(?:missing|)x") == ("x",)
    assert _needed_literals(r"(?:mis[sz]ing|invalid)x") == ("x",)


_DAY = st.sampled_from(["", "Thu, ", "Mon,  ", "xyz, ", "Thu "])
_MONTH = st.sampled_from(["Jan", "apr", "DEC", "Foo", "Sept"])
_ZONE = st.sampled_from(["+0900", "-0000", "+0000", "-0130", "+2400", "+0975", "GMT", "+09"])
_TAIL = st.sampled_from(["", " (JST)", "x", "\t(UTC)", "  "])


@settings(max_examples=3000, deadline=None)
@given(
    _DAY,
    st.integers(0, 40),
    _MONTH,
    st.sampled_from([0, 68, 69, 99, 100, 1999, 2026, 9999]),
    st.integers(0, 25),
    st.integers(0, 61),
    _ZONE,
    _TAIL,
)
def test_date_fast_path_reads_dates_as_email_utils_does(
    day_name: str, day: int, month: str, year: int, hour: int, second: int, zone: str, tail: str
) -> None:
    text = f"{day_name}{day} {month} {year:04d} {hour:02d}:30:{second:02d} {zone}{tail}"
    try:
        expected: datetime | None = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        expected = None
    found = parse_date(text)
    assert repr(found) == repr(expected)
    assert (found.tzinfo is None) == (expected.tzinfo is None) if found and expected else True
