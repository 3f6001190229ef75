"""Small text helpers shared by the detectors."""

from __future__ import annotations

import re

# A tag holds no "<": a run of "<" without ">" is not rescanned 2,000 characters deep from each
# of them.
_TAGS = re.compile(r"<[^<>]{0,2000}>")
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}
_ENTITY_RE = re.compile("|".join(re.escape(key) for key in _ENTITIES))
_BREAKS = re.compile(r"(?i)<\s*(?:br|/p|/div|/tr|/li|p|div|tr|li)\b[^>]{0,500}>")


def to_text(value: str) -> str:
    """Re-read a latin-1 decoded string as UTF-8 when its bytes are valid UTF-8."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def squeeze(text: str) -> str:
    """Collapse every run of white space into one space and strip the ends."""
    # str.split() and re's \s agree on what white space is (str.isspace); five times faster.
    return " ".join(text.split())


# ``[245](?<![\w.][245])`` is ``(?<![\w.])[245]``, searched several times faster (see statuscodes).
_REPLY_PREFIX = re.compile(r"[245](?<![\w.][245])\d\d[ -](?:#?[245]\.\d{1,3}\.\d{1,3}\s+)?")


def strip_reply_continuations(text: str) -> str:
    """Drop the ``550-5.7.1`` prefixes that multi-line SMTP replies repeat on every line.

    The first prefix is kept (it carries the reply code); later ones would split the
    sentence ("receiving mail at a rate that 550-5.2.1 prevents additional messages").
    """
    # Speed: a prefix starts with 2, 4 or 5; looking for these digits (memchr) is far cheaper
    # than a regex search, and most texts have none after the first prefix.
    if "5" not in text and "4" not in text and "2" not in text:
        return text
    first = _REPLY_PREFIX.search(text)
    if first is None:
        return text
    # Searching on from the first prefix's end finds the same next prefix as the substitution
    # would (the first one ends with white space or "-", so the look-behind sees no [\w.]
    # there either way) and spares rebuilding the text when there is none.
    end = first.end()
    if text.find("5", end) < 0 and text.find("4", end) < 0 and text.find("2", end) < 0:
        return text
    second = _REPLY_PREFIX.search(text, end)
    if second is None:
        return text
    return text[: second.start()] + _REPLY_PREFIX.sub("", text[second.start() :])


def html_to_text(html: str) -> str:
    """A crude HTML to text conversion: good enough to read an error message."""
    text = _BREAKS.sub("\n", html)
    text = _TAGS.sub(" ", text)
    return _ENTITY_RE.sub(lambda match: _ENTITIES[match.group(0)], text)


_LEADING_FLAGS = re.compile(r"\(\?([a-z]+)\)")
_CODED_CHARACTER = re.compile(r"\\[0-9xu]")  # \101, \x41, \u0041: may stand for "A"


# The only characters whose lower-case form has another length (U+0130) or that (?i) matches
# to an ASCII letter they do not lower-case to (U+0131 to "i", U+017F to "s"). Lower-casing any
# other character keeps it one character, in or out of \w, \s, \d and "\n", and turns it into
# an ASCII letter exactly when (?i) matches it to that letter (pinned by a unit test).
_CASE_TRAPS = ("\u0130", "\u0131", "\u017f")


def lowers_safely(text: str) -> bool:
    """Whether a :func:`lower_case_variant` finds in ``text.lower()`` exactly what its
    pattern finds in ``text``, at the same offsets: ASCII text, or text without _CASE_TRAPS."""
    return text.isascii() or not any(map(text.__contains__, _CASE_TRAPS))


def lower_case_variant(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """``pattern`` without its (?i) flag, when that finds exactly the same matches in
    lower-cased text (see :func:`lowers_safely`; case-sensitive matching is several times
    faster): an ASCII, lower-case pattern, so no escapes such as \\S, \\W, \\B or \\x41.
    None otherwise."""
    flags = _LEADING_FLAGS.match(pattern.pattern)
    if flags is None or "i" not in flags.group(1):
        return None
    body = pattern.pattern[flags.end() :]
    if not body.isascii() or body != body.lower() or _CODED_CHARACTER.search(body):
        return None
    rest = flags.group(1).replace("i", "")
    return re.compile(f"(?{rest}){body}" if rest else body)
