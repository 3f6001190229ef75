"""What a receiving provider's own error vocabulary looks like, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounce_stream.detection.reasons import Reason


@dataclass(frozen=True, slots=True)
class ProviderRules:
    """A provider recognised by host name; its error codes and phrases map to reasons.

    ``code`` extracts the provider's own error code from the diagnostic (group 1), looked up
    in ``codes``; ``phrases`` are lower-case fragments of the provider's error texts. Codes
    win over phrases, as they are the provider's own classification. ``code_words``, when
    set, are literal fragments one of which every ``code`` match contains: a text with none
    of them is not searched (the regular expression is the slow part).
    """

    name: str
    hosts: re.Pattern[str]
    codes: dict[str, Reason] = field(default_factory=dict)
    code: re.Pattern[str] | None = None
    code_words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, Reason], ...] = ()
    # A character every code word contains (an upper-case letter when one is), "" when none:
    # found by memchr, it rules most texts out before the scans for each code word.
    _code_char: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        common = set.intersection(*map(set, self.code_words)) if self.code_words else set()
        char = min(common, key=lambda found: (not found.isupper(), found), default="")
        object.__setattr__(self, "_code_char", char)

    def serves(self, hosts: str) -> bool:
        return self.hosts.search(hosts) is not None

    def reason(self, text: str, status: str | None, command: str | None) -> Reason | None:
        """The provider's verdict on ``text`` (original case), or None."""
        if self.code is not None and (
            not self.code_words
            or (self._code_char in text and any(map(text.__contains__, self.code_words)))
        ):
            found = self.code.search(text)
            if found and found.group(1).upper() in self.codes:
                return self.codes[found.group(1).upper()]
        if not self.phrases:
            return None
        lowered = text.lower()
        for phrase, reason in self.phrases:
            if phrase in lowered:
                return reason
        return None
