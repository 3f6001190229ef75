"""Detectors' split signatures and delay patterns find what the whole patterns find."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection.mta import exim
from bounce_stream.detection.mta.textbounce import TextBounce, top_alternatives
from bounce_stream.detection.registry import REGISTRY


def test_top_alternatives_splits_only_at_the_top_level() -> None:
    assert top_alternatives("ab|c(?:d|e)|[|]|\\|x") == ["ab", "c(?:d|e)", "[|]", "\\|x"]
    assert top_alternatives("[]|]|y") == ["[]|]", "y"]
    assert top_alternatives("(?m)^a|b") == ["(?m)^a|b"]
    assert top_alternatives("abc") == ["abc"]


def test_signature_alternatives_rebuild_the_signature() -> None:
    # Each alternative searched alone finds a match exactly when the whole alternation does.
    for detector in REGISTRY:
        if isinstance(detector, TextBounce) and detector._signature_alternatives is not None:
            assert detector._signature_lower is not None
            joined = "|".join(p.pattern for p in detector._signature_alternatives)
            assert joined == detector._signature_lower.pattern
            assert all(p.flags == re.UNICODE for p in detector._signature_alternatives)


_PROBE_WORDS = st.sampled_from(
    [
        "this is the mailer-daemon, please do not reply",
        "(opensmtpd)",
        "dragonfly mail agent",
        "google groups",
        "groups.google.com",
        "mail.ru",
        "@au.com",
        "could not be delivered to:",
        "did not reach the following recipient",
        "following recipient(s) could not be reached",
        "this message was created automatically by mail delivery software",
        "a message that you have sent could not be delivered",
        "this  is\nthe",
        "|",
        " ",
        "\n",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PROBE_WORDS, max_size=8))
def test_alternatives_find_what_the_signature_finds(parts: list[str]) -> None:
    probe = "".join(parts)
    for detector in REGISTRY:
        alternatives = getattr(detector, "_signature_alternatives", None)
        if alternatives is None:
            continue
        whole = detector._signature_lower.search(probe) is not None  # type: ignore[attr-defined]
        assert any(p.search(probe) is not None for p in alternatives) == whole


def test_exim_delay_parts_rebuild_the_delay_pattern() -> None:
    assert exim._DELAYED_LOWER is not None
    parts = [p.pattern for p in exim._DELAYED_LOWER_PARTS]
    assert len(parts) == 2 and "|".join(parts) == exim._DELAYED_LOWER.pattern
