"""dsnfields' fast forms agree with the plain ones they stand for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import dsnfields

FRAGMENTS = [
    "Final-Recipient: rfc822; a@b.example",
    "ORIGINAL-RECIPIENT:x",
    "final-recipient :",
    "x-final-recipient: a",
    "Status: 5.1.1",
    "action:failed",
    "Diagnostic-Code: smtp; 550",
    "recıpient",
    "\u0130",
    "\u00e9t\u00e9",
    "\u65e5\u672c",
    "\n",
    " ",
    "\t",
    "\r",
    "-",
    ":",
]


def _plain(text: str) -> bool:
    return (
        dsnfields.DSN_HINT.search(text) is not None
        and dsnfields.STATUS_HINT.search(text) is not None
    )


def test_newline_forms_start_with_a_literal_newline() -> None:
    # The speed of looks_like_dsn depends on it (the patterns must keep their (?im)^ prefix).
    for pattern in (dsnfields._DSN_HINT_NL, dsnfields._STATUS_HINT_NL):
        assert pattern.pattern.startswith("(?i)\\n")
    for lower in (dsnfields._DSN_HINT_LOWER_NL, dsnfields._STATUS_HINT_LOWER_NL):
        assert lower is not None and lower.pattern.startswith("\\n")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_looks_like_dsn_agrees_with_the_plain_patterns(parts: list[str]) -> None:
    text = "".join(parts)
    assert dsnfields.looks_like_dsn(text) == _plain(text)
