"""find_command's fast paths give what the plain algorithm gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_stream.detection import smtp


def _plain_find_command(text: str) -> str | None:
    """find_command as first written: the whole context pattern, each command in turn."""
    if not text:
        return None
    text = text[:4000].lower()
    for context in smtp._CONTEXT.finditer(text):
        for pattern, command in smtp._COMMANDS:
            if pattern.match(context.group(1)):
                return command
    likes = smtp._LIKES.search(text)
    if likes:
        return "RCPT" if likes.group(1) == "recipient" else "MAIL"
    for sent in smtp._SENT.finditer(text):
        for pattern, command in smtp._COMMANDS:
            if pattern.search(sent.group(1)):
                return command
    return None


def test_command_patterns_have_no_groups() -> None:
    # _COMMAND_AT numbers its alternatives by group: their own groups would shift them.
    assert all(pattern.groups == 0 for pattern, _ in smtp._COMMANDS)
    assert smtp._COMMAND_AT.groups == len(smtp._COMMANDS)


FRAGMENTS = [
    "after ",
    "in reply to ",
    "did not like our ",
    "does not like recipient",
    "does not like sender",
    "response to ",
    "while sending ",
    "while talking to mx.example.com.:\n>>> ",
    "most progress was ",
    "[",
    "RCPT TO:<a@b>",
    "rcpt",
    "MAIL FROM:<a@b>",
    "mail command",
    "end of data",
    "data",
    "DATA ",
    "EHLO ",
    "helo",
    "STARTTLS",
    "initial connection",
    "connect to ",
    "banner",
    "recipient address",
    "sender address",
    ">>> ",
    "\n",
    " ",
    ": ",
    "550 5.1.1 user unknown",
    "x",
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_find_command_is_the_plain_algorithm(parts: list[str]) -> None:
    text = "".join(parts)
    assert smtp.find_command(text) == _plain_find_command(text), text
