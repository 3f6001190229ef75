"""Fast forms used by detection give exactly what the plain forms they replace give."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection.datetimes import parse_date
from bounce_stream.detection.model import Action, Bounce, new_bounce
from bounce_stream.detection.reasons import Reason
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


def _fields() -> dict[str, object]:
    return {
        "recipient": "user@example.org",
        "reason": Reason.USERUNKNOWN,
        "detected_by": "rfc3464",
        "action": Action.FAILED,
        "status": "5.1.1",
        "reply_code": "550",
        "diagnostic_code": "550 5.1.1 unknown user",
        "diagnostic_type": "SMTP",
        "remote_mta": "mx.example.org",
        "reporting_mta": "mta.example.net",
        "smtp_command": "RCPT",
        "feedback_type": None,
        "arrival_date": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
        "original_message_id": "<id@example.net>",
        "tracking_id": "t-1",
        "envelope_id": "env-1",
        "verp_recipient": None,
        "original_sender": "sender@example.net",
        "original_subject": "Hello",
    }


def test_new_bounce_is_an_ordinary_frozen_bounce() -> None:
    fields = _fields()
    fast = new_bounce(**fields)  # type: ignore[arg-type]
    plain = Bounce(**fields)  # type: ignore[arg-type]
    assert type(fast) is Bounce
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain
    assert copy.copy(fast) == plain
    assert dataclasses.replace(fast, status="5.1.2").status == "5.1.2"
    try:
        fast.status = "4.0.0"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("new_bounce built a mutable Bounce")


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
