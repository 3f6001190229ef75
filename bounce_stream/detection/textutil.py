"""Small text helpers shared by the detectors."""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]{0,2000}>")
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
    return _SPACES.sub(" ", text).strip()


def html_to_text(html: str) -> str:
    """A crude HTML to text conversion: good enough to read an error message."""
    text = _BREAKS.sub("\n", html)
    text = _TAGS.sub(" ", text)
    return _ENTITY_RE.sub(lambda match: _ENTITIES[match.group(0)], text)
