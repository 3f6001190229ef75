"""Shared machinery for MTAs that write a plain-text bounce instead of a DSN."""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.decide import match_text
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in, first_address
from bounce_stream.detection.mta.signals import human_reply
from bounce_stream.detection.mta.textscan import recipient_blocks, unique_blocks
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.reasontext.matcher import required_literals, split_top_level
from bounce_stream.detection.smtp import find_command
from bounce_stream.detection.textutil import lower_case_variant, lowers_safely, squeeze

_NEVER = re.compile(r"(?!)")


class TextBounce:
    """A text bounce recognised by ``signature`` and read from the address lines after ``start``.

    Subclasses set the class attributes; most need no code of their own.
    """

    name = "text"
    signature: re.Pattern[str] = _NEVER  # searched in From + Subject + start of the report
    # Lower-case words one of which every text ``signature`` matches contains: a cheap test
    # before the signature is tried. Single words only (the signatures allow any white space
    # between words, so a multi-word keyword would miss a wrapped or double-spaced phrase).
    keywords: tuple[str, ...] = ()
    start: re.Pattern[str] | None = None  # the recipient list begins after this line
    end: re.Pattern[str] | None = None  # and ends here (besides the original message)
    strict_lines = False
    # When no address line is found, a returned message with exactly one recipient names it.
    single_original_recipient = False
    # The MTA's own fixed sentences and what they mean (lower-case fragments).
    messages: tuple[tuple[str, Reason], ...] = ()
    _signature_lower: re.Pattern[str] | None = None  # see lower_case_variant
    _signature_needs: tuple[str, ...] | None = None  # see required_literals
    _signature_after_newline: re.Pattern[str] | None = None  # see __init_subclass__
    _signature_needs_anycase: tuple[str, ...] | None = None  # see _anycase_parts
    _signature_alternatives: tuple[re.Pattern[str], ...] | None = None  # see top_alternatives
    # ``start`` without alternatives that only match non-ASCII text (finds the same in ASCII
    # text), for the lower-case variant when ``start`` itself has none.
    start_ascii: re.Pattern[str] | None = None
    _start_lower: re.Pattern[str] | None = None  # see lower_case_variant
    _end_lower: re.Pattern[str] | None = None

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        for keyword in cls.keywords:
            if keyword != keyword.lower() or not keyword or any(c.isspace() for c in keyword):
                raise TypeError(f"{cls.__name__}.keywords: not one lower-case word: {keyword!r}")
        cls._signature_lower = lower_case_variant(cls.signature)
        if cls._signature_lower is not None:
            cls._signature_needs = required_literals(cls._signature_lower.pattern)
            if cls._signature_lower.pattern.startswith("(?m)^"):
                # A line-start signature is searched as a match at 0, then after a newline: a
                # literal first character lets the engine skip from line to line.
                cls._signature_after_newline = re.compile(
                    cls._signature_lower.pattern.replace("(?m)^", "(?m)\n", 1)
                )
            cls._signature_needs_anycase = _anycase_parts(cls._signature_needs)
            # "a...|b..." is searched alternative by alternative: each starts with a literal
            # the engine skips to, where the alternation tries every position.
            parts = top_alternatives(cls._signature_lower.pattern)
            if len(parts) > 1:
                cls._signature_alternatives = tuple(map(re.compile, parts))
        start = cls.start_ascii or cls.start
        cls._start_lower = lower_case_variant(start) if start is not None else None
        cls._end_lower = lower_case_variant(cls.end) if cls.end is not None else None

    def claims(self, ctx: Context) -> bool:
        # Cheapest test first: most messages contain none of the keywords (map, not a
        # generator expression, which costs more than the substring tests themselves). Only
        # where lower-casing keeps what (?i) matches (see lowers_safely).
        if (
            self.keywords
            and lowers_safely(ctx.probe)
            and not any(map(ctx.probe_lower.__contains__, self.keywords))
        ):
            return False
        if human_reply(ctx):
            return False
        if self._signature_lower is not None and lowers_safely(ctx.probe):
            probe = ctx.probe_lower
            needs = self._signature_needs
            if needs is not None and not any(map(probe.__contains__, needs)):
                return False
            after_newline = self._signature_after_newline
            if after_newline is not None:
                return (
                    self._signature_lower.match(probe) is not None
                    or after_newline.search(probe) is not None
                )
            alternatives = self._signature_alternatives
            if alternatives is not None:  # a loop: any(generator) costs more than a search
                for alternative in alternatives:  # noqa: SIM110
                    if alternative.search(probe) is not None:
                        return True
                return False
            return self._signature_lower.search(probe) is not None
        # Text that does not lower safely: the case-insensitive search is slow, and mostly
        # needless.
        anycase = self._signature_needs_anycase
        if anycase is not None and not any(map(ctx.probe_lower.__contains__, anycase)):
            return False
        return self.signature.search(ctx.probe) is not None

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        return self.read(ctx)

    def blocks(self, ctx: Context, section: str) -> list[tuple[str, str]]:
        """(address, diagnostic) of every recipient line of ``section``, without repeats and
        without the bounce's own From/To."""
        blocks = unique_blocks(recipient_blocks(section, strict_lines=self.strict_lines))
        return drop_own_addresses(ctx, blocks)

    def read(self, ctx: Context) -> list[Evidence]:
        """The evidence of a claimed message: one item per recipient line of the section."""
        section = self.section(ctx)
        blocks = self.blocks(ctx, section)
        if not blocks and self.single_original_recipient:
            blocks = [(address, "") for address in _sole_original_recipient(ctx)]
        found: list[Evidence] = []
        whole = None  # the whole section, squeezed only if some diagnostic says nothing
        for address, diagnostic in blocks:
            if informative(diagnostic):
                found.append(self.evidence(ctx, address, diagnostic))
                continue
            if whole is None:
                whole = squeeze(section)[:2000]
            found.append(self.evidence(ctx, address, whole))
        return found

    def section(self, ctx: Context) -> str:
        text = ctx.report_text
        # The case-sensitive variants find the same offsets in the lower-cased copy (when the
        # text lowers safely), several times faster than the case-insensitive patterns.
        lowered = ctx.memo(report_lower)
        if self.start is not None:
            # start_ascii stands for start in ASCII text only.
            if (
                lowered is not None
                and self._start_lower is not None
                and (self.start_ascii is None or text.isascii())
            ):
                found = self._start_lower.search(lowered)
            else:
                found = self.start.search(text)
            if found is not None:
                text = text[found.end() :]
                lowered = lowered[found.end() :] if lowered is not None else None
        if self.end is not None:
            if lowered is not None and self._end_lower is not None:
                found = self._end_lower.search(lowered)
            else:
                found = self.end.search(text)
            if found is not None:
                text = text[: found.start()]
        return text

    def hint(self, diagnostic: str) -> Reason | None:
        """What the first of ``messages`` that ``diagnostic`` holds means, if any."""
        if self.messages:  # a loop, not next(generator): most detectors have no messages
            lowered = diagnostic.lower()
            for phrase, reason in self.messages:
                if phrase in lowered:
                    return reason
        return None

    def evidence(self, ctx: Context, address: str, diagnostic: str) -> Evidence:
        return Evidence(
            hint=self.hint(diagnostic),
            recipient=address,
            diagnostic=diagnostic,
            reply_code=statuscodes.find_reply_code(diagnostic),
            smtp_command=find_command(diagnostic),
            diagnostic_type="SMTP",
        )


def report_lower(ctx: Context) -> str | None:
    """The report text lower-cased when it lowers safely (see lowers_safely), else None; per
    message through ``ctx.memo``."""
    text = ctx.report_text
    return text.lower() if lowers_safely(text) else None


def top_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern`` (``[pattern]`` when it has none, or when it
    starts with an inline flag group, which applies to all of them)."""
    if pattern.startswith("(?") and pattern[2:3].isalpha():
        return [pattern]
    return split_top_level(pattern)


def _anycase_parts(needs: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """For each of ``needs`` (literals every match of a case-insensitive pattern contains
    in some case), a part that the lower-cased form of any text it matches contains too.

    In text that is not ASCII, (?i) also matches "i" to U+0130 and U+0131, and "s" to
    U+017F, which lower-case to something else; any other ASCII character matches only
    itself in either case, or (the Kelvin sign) a character that lower-cases to it. So the
    longest part of each literal free of "i" and "s" is kept; None when one is shorter
    than three characters.
    """
    if needs is None:
        return None
    parts = tuple(max(re.split("[is]", literal), key=len) for literal in needs)
    return parts if all(len(part) >= 3 for part in parts) else None


def informative(diagnostic: str) -> bool:
    """Whether a per-recipient text says anything a reason could be read from."""
    if not diagnostic:
        return False
    return bool(
        statuscodes.find_status(diagnostic)
        or statuscodes.find_reply_code(diagnostic)
        or match_text(diagnostic.lower())
    )


def _sole_original_recipient(ctx: Context) -> list[str]:
    original = ctx.original
    if original is None:
        return []
    found = addresses_in(" ".join(original.get_all("to") + original.get_all("cc")))
    return found if len(set(found)) == 1 else []


def drop_own_addresses(ctx: Context, blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Forget the bounce's own From/To (the daemon and the original sender)."""
    if not blocks:  # nothing to forget: spares reading the addresses
        return blocks
    own = {first_address(ctx.headers.get("from")), first_address(ctx.headers.get("to"))}
    kept = [(address, diagnostic) for address, diagnostic in blocks if address not in own]
    return kept or [
        (address, diagnostic)
        for address, diagnostic in blocks
        if address != first_address(ctx.headers.get("from"))
    ]
