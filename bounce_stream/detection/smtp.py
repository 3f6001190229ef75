"""The SMTP command a failure happened at, as MTAs word it in their diagnostics.

All patterns are lower case and run on lower-cased text (faster than case-insensitive).
"""

from __future__ import annotations

import re
from typing import cast

_COMMANDS = (
    (re.compile(r"\b(?:rcpt[\s_]*to|rcpt\b|recipient\s+address)"), "RCPT"),
    (re.compile(r"\b(?:mail\s*from|mail\s+command|sender\s+address)"), "MAIL"),
    (
        re.compile(r"\b(?:end\s+of\s+data|final\s+data|data\s+command|after\s+data|data\b)"),
        "DATA",
    ),
    (re.compile(r"\b(?:ehlo|helo)\b"), "EHLO"),
    (re.compile(r"\bstarttls\b"), "STARTTLS"),
    (
        re.compile(r"\b(?:initial\s+connection|connect\s+to|connection\s+greeting|banner)"),
        "CONN",
    ),
)
# The same as one pattern: _COMMANDS[i] is group i + 1 (they have no groups of their own).
# An alternation tries its alternatives in order, so the group of a match at the start of a
# text is the first of _COMMANDS that matches there: one regex call instead of up to six.
_COMMAND_AT = re.compile("|".join(f"({pattern.pattern})" for pattern, _ in _COMMANDS))
_COMMAND_NAMES = tuple(command for _, command in _COMMANDS)
# Where MTAs name the command: "in reply to RCPT TO command", "after RCPT TO:",
# "did not like our RCPT TO", "SMTP error from remote mail server after end of data".
_SNIPPET = r"\s*(?=([^\n]{0,40}))"  # group 1: the text after the context, where the command is
_CONTEXT = re.compile(
    r"(?:in\s+reply\s+to|after|did\s+not\s+like\s+our|response\s+to|while\s+sending|"
    r"most\s+progress\s+was|while\s+talking\s+to[^:]{0,80}:\s*>>>|\[(?=rcpt|mail|data))" + _SNIPPET
)
# One of these (or of _BRACKET_WORDS) occurs in every match of _CONTEXT and _LIKES ("like"
# stands for both "did not like our" and "does not like"): a text with none is not searched.
_CONTEXT_WORDS = (
    "after",
    "reply",
    "like",
    "response",
    "while",
    "progress",
)
# The words that start with "[" (tested only when the text has one: memchr, much cheaper
# than a substring search).
_BRACKET_WORDS = ("[rcpt", "[mail", "[data")
_SENT = re.compile(r"(?m)^[ \t]*>>>[ \t]*([^\n]{0,17})")
_LIKES = re.compile(r"does\s+not\s+like\s+(recipient|sender)")


def find_command(text: str) -> str | None:
    """The SMTP command named in ``text`` (RCPT, MAIL, DATA, EHLO, STARTTLS, CONN) or None."""
    if not text:
        return None
    text = text[:4000].lower()
    present = [*filter(text.__contains__, _CONTEXT_WORDS)]  # no generator: cheaper
    if "[" in text:
        present += filter(text.__contains__, _BRACKET_WORDS)
    if present:
        for context in _CONTEXT.finditer(text):
            named = _COMMAND_AT.match(context.group(1))
            if named is not None:
                return _COMMAND_NAMES[cast(int, named.lastindex) - 1]
        if "like" in present:  # _LIKES needs it
            likes = _LIKES.search(text)
            if likes:
                return "RCPT" if likes.group(1) == "recipient" else "MAIL"
    if ">>>" in text:
        for sent in _SENT.finditer(text):
            for pattern, command in _COMMANDS:
                if pattern.search(sent.group(1)):
                    return command
    return None
