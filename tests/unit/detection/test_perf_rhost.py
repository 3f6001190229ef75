"""rhost's fast forms agree with the plain ones they stand for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import rhost

FRAGMENTS = [
    "host ",
    "Host",
    "HOST\t",
    "ghost ",
    "_host ",
    "mx.Example.COM",
    "a-b.c.de",
    "x.y",
    ".",
    "-",
    " ",
    "\n",
    "said:",
    "\u00e9",
    "\u0130",
]


def test_host_pattern_has_a_lower_case_form() -> None:
    # Without it every diagnostic would take the slower case-insensitive search.
    assert rhost._HOST_IN_LOWER is not None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_hosts_in_text_agrees_with_findall(parts: list[str]) -> None:
    text = "".join(parts)
    assert rhost._hosts_in_text(text) == " ".join(rhost._HOST_IN_TEXT.findall(text))
