"""One reason's text evidence: fixed phrases, an optional regular expression, exclusions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TextMatcher:
    """Matches lower-cased, whitespace-squeezed diagnostic text."""

    substrings: tuple[str, ...] = ()
    pattern: str = ""
    unless: tuple[str, ...] = ()
    _compiled: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    _phrases: re.Pattern[str] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        # One alternation scans the text once instead of once per phrase.
        if self.substrings:
            alternation = "|".join(map(re.escape, self.substrings))
            object.__setattr__(self, "_phrases", re.compile(alternation))
        if self.pattern:
            object.__setattr__(self, "_compiled", re.compile(self.pattern, re.VERBOSE))

    def matches(self, text: str) -> bool:
        if not text:
            return False
        if self.unless and any(phrase in text for phrase in self.unless):
            return False
        if self._phrases is not None and self._phrases.search(text) is not None:
            return True
        return self._compiled is not None and self._compiled.search(text) is not None
