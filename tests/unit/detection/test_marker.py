"""The quoted-original marker: the fast line-by-line search agrees with the plain regex search."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import context
from bounce_stream.detection.reasontext.matcher import _top_level_alternatives


def _alternatives() -> list[str]:
    body = context.ORIGINAL_MARKER.pattern.split(")?(?:", 1)[1]
    assert body.endswith(")")
    return _top_level_alternatives(body[:-1])


def test_every_marker_alternative_holds_the_anchor_after_words_and_space_only() -> None:
    alternatives = _alternatives()
    assert len(alternatives) > 10
    for alternative in alternatives:
        before, found, _ = alternative.partition(context._MARKER_ANCHOR)
        assert found, alternative
        # Only lower-case words, \s+ / \s* and (optional) groups of them before the anchor.
        assert re.fullmatch(r"(?:[a-z|]\??|\\s[+*]|\(\?:|\)\??)*", before), alternative


FRAGMENTS = [
    "message",
    "original message follows",
    "original message",
    "original\nmessage follows",
    "the original message below",
    "this is a copy of the message",
    "below this line is a copy of the message",
    "returned message follows",
    "your message reads (in part):",
    "message text follows",
    "headers of the original message",
    "included is a copy of the message header",
    "--- ",
    "-- ",
    "> ",
    "| ",
    "=====",
    "\n",
    "\n\n",
    " ",
    "\t",
    "\x0b",
    ".",
    ":",
    "550 5.1.1 ",
    "unknown user",
    "x" * 40,
    "words without any punctuation " * 12,
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_fast_marker_search_finds_what_the_regex_finds(parts: list[str]) -> None:
    text = "".join(parts)
    expected = context._first_marker(
        text, context._ORIGINAL_MARKER_LOWER, context._MARKER_AFTER_NEWLINE_LOWER
    )
    assert context._first_marker_near_message(text) == expected
