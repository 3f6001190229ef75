"""The indexed reason matchers find exactly what their raw phrases and patterns find.

The reference here is written from the raw ``substrings`` and ``pattern`` alone (no index, no
literal prefilter, nothing shared with the matcher's fast path): a phrase is searched with
word-boundary lookarounds at its alphanumeric ends, an alternative with a word-start
lookbehind when it starts with a letter or digit (reasontext/matcher.py's documented
semantics).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext import MATCHERS
from bounce_stream.detection.reasontext.matcher import TextMatcher, alternatives
from bounce_stream.detection.textutil import squeeze

_BEFORE = r"(?<![a-z0-9])"
_AFTER = r"(?![a-z0-9])"


def _raw_phrase(phrase: str) -> str:
    head = _BEFORE if phrase[0].isascii() and phrase[0].isalnum() else ""
    tail = _AFTER if phrase[-1].isascii() and phrase[-1].isalnum() else ""
    return head + re.escape(phrase) + tail


def _raw_alternative(alternative: str) -> str:
    starts_word = alternative[0].isascii() and alternative[0].isalnum()
    return (_BEFORE if starts_word else "") + f"(?:{alternative})"


def reference(matcher: TextMatcher, text: str) -> bool:
    """Whether the raw phrases or pattern of ``matcher`` match ``text``."""
    if not text or any(excluded in text for excluded in matcher.unless):
        return False
    raw = [_raw_phrase(p) for p in matcher.substrings if p]
    raw += [_raw_alternative(a) for a in alternatives(matcher.pattern)]
    return any(re.search(pattern, text) for pattern in raw)


# Every phrase (as a literal pattern) and every top-level alternative of every reason.
_PIECES = sorted(
    {
        (reason, piece)
        for reason, matcher in MATCHERS.items()
        for piece in [
            *map(re.escape, filter(None, matcher.substrings)),
            *alternatives(matcher.pattern),
        ]
    }
)
# Characters around a generated match: letters and digits glued to it, and separators.
_CONTEXT = st.text(alphabet="ax1 .:-<>@(", max_size=4)


@settings(
    max_examples=1500,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.sampled_from(_PIECES).flatmap(
        lambda piece: st.tuples(
            st.just(piece), _CONTEXT, st.from_regex(piece[1], fullmatch=True), _CONTEXT
        )
    )
)
def test_every_matcher_agrees_with_its_raw_patterns_on_texts_made_from_them(
    case: tuple[tuple[Reason, str], str, str, str],
) -> None:
    """A text built from any phrase or alternative (with letters, digits or separators around
    it) is matched by the indexed matcher exactly when the raw patterns match it."""
    (reason, _), before, middle, after = case
    text = squeeze((before + middle + after).lower())
    matcher = MATCHERS[reason]
    assert matcher.matches(text) == reference(matcher, text), (reason, text)


# Alternatives whose first word is followed by "(", a class other than a space/punctuation
# one, or nothing: indexing one under a prefix of its word ("rejected(?:" under "rejecte",
# "non[- ]?existent" under "no", "said:" under "sai") made it never match.
_EDGE_MATCHER = TextMatcher(
    substrings=("host unknown", "procmail: "),
    pattern=r"rejected(?::[ ]spam|[ ]by[ ]filter)|non[- ]?existent[ ]user|said:[ ]550|throttled",
)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("message rejected by filter", True),
        ("rejected: spam", True),
        ("nonexistent user", True),
        ("non-existent user", True),
        ("mx said: 550 no", True),
        ("you are throttled.", True),
        ("host unknown", True),
        ("/usr/bin/procmail: error", True),
        ("prerejected by filter", False),
        ("ghost unknown", False),
        ("host unknowns", False),
        ("unthrottled", False),
    ],
)
def test_alternatives_and_phrases_match_whole_words_whatever_follows_the_first_word(
    text: str, matches: bool
) -> None:
    """An alternative whose first word is followed by "(" or a class still matches; no phrase
    matches inside a longer word, no alternative from inside one."""
    assert _EDGE_MATCHER.matches(text) is matches
    assert reference(_EDGE_MATCHER, text) is matches
