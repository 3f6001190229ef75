"""Prefilters of the decision and provider layers skip only what could not match."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import decide, rhost, statuscodes
from bounce_stream.detection.reasontext.matcher import tokens_of
from bounce_stream.detection.rhost.base import ProviderRules
from bounce_stream.detection.rhost.microsoft import EXCHANGE

TEXT_FRAGMENTS = [
    "550 ",
    "5.1.1 ",
    "user unknown",
    "dmarc policy reject",
    "dane",
    " spam",
    "missing from header",
    " said: 550 blocked",
    "procmail: ",
    "x-unix; 1",
    "<a@b>... blocked by ",
    "mailbox full",
    "rejected",
    " ",
    ".",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TEXT_FRAGMENTS), max_size=8))
def test_reasons_skipped_by_the_decision_loops_do_not_match(parts: list[str]) -> None:
    # _strong and Diagnostic.first skip a reason without calling its matcher when the text
    # has none of its index words and none of its always-tried patterns' literals.
    text = "".join(parts)
    words = tokens_of(text)
    for reason, matcher, reason_words, needs in decide._STRONG_TRIED + decide._WEAK_TRIED:
        skipped = reason_words.isdisjoint(words) and (
            needs is None or not any(literal in text for literal in needs)
        )
        if skipped:
            assert not matcher.matches_words(text, words), reason


def test_code_char_is_in_every_code_word() -> None:
    # ProviderRules.reason skips the code search when the text lacks _code_char.
    for provider in rhost.PROVIDERS:
        if isinstance(provider, ProviderRules) and provider.code_words:
            assert provider._code_char
            assert all(provider._code_char in word for word in provider.code_words)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["RESOLVER.ADR.RecipNotFound", "QUEUE.Expired", "queue.expired", " ", "E"]),
        max_size=5,
    )
)
def test_exchange_codes_found_with_the_code_char_guard(parts: list[str]) -> None:
    text = "".join(parts)
    found = EXCHANGE.code.search(text) if EXCHANGE.code else None
    plain = EXCHANGE.codes.get(found.group(1).upper()) if found else None
    assert EXCHANGE.reason(text, None, None) == plain


def _plain_last_status(text: str) -> str | None:
    last = None
    for match in statuscodes._STATUS_PATTERNS[3].finditer(text[:4000]):
        if not statuscodes._inside_ip(text, match.start(1), match.end(1)):
            last = match.group(1)
    return last


@settings(max_examples=800, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["5", "4", "2", ".", "1", "0", "55", "5.1.1", "4.7.0", " ", "\n", "a", "\u0665"]
        ),
        max_size=14,
    )
)
def test_find_last_status_per_class_agrees_with_the_combined_pattern(parts: list[str]) -> None:
    # The per-digit patterns find the combined one's matches because none overlaps another.
    text = "".join(parts)
    assert statuscodes.find_last_status(text) == _plain_last_status(text)
