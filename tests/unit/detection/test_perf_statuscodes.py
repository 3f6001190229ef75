"""statuscodes' fast pattern forms find what their plain forms find."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import statuscodes

# The reply-code pattern as first written: a line start or a separator, then the code.
PLAIN_REPLY = re.compile(
    r"(?:^|[\s:;(\[\"'])([245][0-5]\d)(?:[ -]#?[245]\.\d|[ -][A-Za-z<(\[:]|$)", re.MULTILINE
)


def _plain_reply_code(text: str) -> str | None:
    match = PLAIN_REPLY.search(text)
    return match.group(1) if match else None


# Digits, separators, Unicode white space and digits, letters, line breaks.
ALPHABET = "2455 0-#.\n\t:;(['\"aZ<x9\u00a0\u2028\x1c\u0660"


@settings(max_examples=5000, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=16))
def test_find_reply_code_is_the_plain_search(text: str) -> None:
    assert statuscodes.find_reply_code(text) == _plain_reply_code(text)


def test_find_reply_code_examples() -> None:
    for text in ("550 5.1.1 x", "x\n550 5.1.1", "(550 user", "a550 b 450 c", "550", "x;421-4.7.0"):
        assert statuscodes.find_reply_code(text) == _plain_reply_code(text), text


def _plain_find_status(text: str) -> str | None:
    """find_status as first written: every pattern in turn."""
    text = text[:4000]
    for pattern in statuscodes._STATUS_PATTERNS:
        for match in pattern.finditer(text):
            code = match.group(1)
            if code.startswith(("4.", "5.", "2.")) and not statuscodes._inside_ip(
                text, match.start(1), match.end(1)
            ):
                return code
    return None


STATUS_FRAGMENTS = [
    "5.1.1",
    "4.2.0",
    "2.0.0",
    "5.",
    "4.",
    "2.",
    "550 ",
    "550-",
    "(",
    "[",
    "#",
    ")",
    "]",
    " ",
    "1",
    "10.",
    ".",
    "x",
    "\n",
]


@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(STATUS_FRAGMENTS), max_size=10))
def test_find_status_is_the_plain_search(parts: list[str]) -> None:
    text = "".join(parts)
    assert statuscodes.find_status(text) == _plain_find_status(text), text


def _plain_inside_ip(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 4) : start]
    after = text[end : end + 4]
    return bool(statuscodes._IP_BEFORE.search(before) or statuscodes._IP_AFTER.match(after))


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("1.\n x5"), max_size=12),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=12),
)
def test_inside_ip_is_the_plain_test(text: str, start: int, end: int) -> None:
    start, end = min(start, len(text)), min(max(start, end), len(text))
    assert statuscodes._inside_ip(text, start, end) == _plain_inside_ip(text, start, end)
