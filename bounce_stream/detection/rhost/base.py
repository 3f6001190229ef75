"""What a receiving provider's own error vocabulary looks like, as data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounce_stream.detection import data
from bounce_stream.detection.reasons import Reason

# An enhanced status code quoted in a reply (Microsoft's have three-digit details).
_QUOTED_STATUS = re.compile(r"(?<![\d.])([45]\.\d{1,2}\.\d{1,3})(?![\d]|\.\d)")


@dataclass(frozen=True, slots=True)
class StatusRow:
    """A provider's sentence with the enhanced status code it comes with: ``status`` exact
    ("5.7.26"), or a "x.y." prefix with the detail range ``low``..``high`` (Microsoft's
    "5.7.606-649")."""

    status: str
    phrase: str
    reason: Reason
    low: int = -1
    high: int = -1

    def has_status(self, statuses: set[str]) -> bool:
        if self.low < 0:
            return self.status in statuses
        for status in statuses:
            prefix, _, detail = status.rpartition(".")
            if prefix + "." == self.status and self.low <= int(detail) <= self.high:
                return True
        return False


def phrase_rows(provider: str) -> tuple[tuple[str, Reason], ...]:
    """A provider's one-phrase rows from Sisimai 5's tables, lower-cased."""
    return tuple((row[0].lower(), reason) for reason, row in data.provider_rows(provider, 1))


def part_rows(provider: str) -> tuple[tuple[tuple[str, ...], Reason], ...]:
    """A provider's ordered part lists from Sisimai 5's tables, lower-cased."""
    return tuple(
        (tuple(part.lower() for part in row), reason)
        for reason, row in data.provider_parts(provider)
    )


@dataclass(frozen=True, slots=True)
class ProviderRules:
    """A provider recognised by host name; its error codes and phrases map to reasons.

    ``code`` extracts the provider's own error code from the diagnostic (group 1), looked up
    in ``codes``; ``status_rows`` are sentences with the status they come with;
    ``phrases`` are lower-case fragments of the provider's error texts and ``parts`` lists
    of fragments that all appear in that order. Codes win over sentences, as they are the
    provider's own classification; among sentences, one whose status is the reply's wins,
    then the longest (the most specific). ``specific_statuses`` lets a status row decide on
    its status alone when the status is the provider's own (a three-digit detail).
    ``code_words``, when set, are literal fragments one of which every ``code`` match
    contains: a text with none of them is not searched (the regular expression is the slow
    part).
    """

    name: str
    hosts: re.Pattern[str]
    codes: dict[str, Reason] = field(default_factory=dict)
    code: re.Pattern[str] | None = None
    code_words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, Reason], ...] = ()
    status_rows: tuple[StatusRow, ...] = ()
    parts: tuple[tuple[tuple[str, ...], Reason], ...] = ()
    specific_statuses: bool = False
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
        lowered = text.lower()
        if self.status_rows:
            verdict = self._by_status_rows(lowered, status)
            if verdict is not None:
                return verdict
        best: tuple[int, Reason] | None = None
        for phrase, reason in self.phrases:
            if phrase in lowered and (best is None or len(phrase) > best[0]):
                best = (len(phrase), reason)
        if best is not None:
            return best[1]
        # The longest list that matches: one list may hold another (GSuite's "had no relevant
        # answers" before its "NXDOMAIN ... not found").
        matched = [
            (sum(map(len, parts)), reason)
            for parts, reason in self.parts
            if _in_order(lowered, parts)
        ]
        return max(matched, key=lambda found: found[0])[1] if matched else None

    def _by_status_rows(self, lowered: str, status: str | None) -> Reason | None:
        statuses = set(_QUOTED_STATUS.findall(lowered))
        if status:
            statuses.add(status)
        best: tuple[bool, int, Reason] | None = None
        for row in self.status_rows:
            if row.phrase in lowered:
                rank = (row.has_status(statuses), len(row.phrase), row.reason)
                if best is None or rank[:2] > best[:2]:
                    best = rank
        if best is not None:
            return best[2]
        if self.specific_statuses:
            own = {found for found in statuses if len(found.rpartition(".")[2]) == 3}
            for row in self.status_rows:
                if own and row.has_status(own):
                    return row.reason
        return None


def _in_order(text: str, parts: tuple[str, ...]) -> bool:
    """Whether every part occurs in ``text``, each after the one before it."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True
