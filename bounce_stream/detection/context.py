"""Everything detectors read from one message, computed once and lazily."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast, overload

from bounce_stream.detection.headers import Headers, decode_value, parse_headers
from bounce_stream.detection.mime import Part, iter_leaves
from bounce_stream.detection.smtp import find_command
from bounce_stream.detection.textutil import html_to_text, lowers_safely

MAX_REPORT_CHARS = 64_000  # the human-readable report detectors scan
MAX_MARKER_SEARCH = 32_000  # where a quoted original message may start

# Lines after which a bounce quotes the message it returns (MIME-less bounces).
ORIGINAL_MARKER = re.compile(
    r"(?im)^[ \t>|]*(?:[-=_*]{2,}[ \t]*)?(?:"
    r"below\s+this\s+line\s+is\s+a\s+copy\s+of\s+the\s+message"
    r"|this\s+is\s+a\s+copy\s+of\s+the\s+message"
    r"|(?:the\s+)?original\s+message\s+(?:follows|headers?\s+(?:follows?|are)|below)"
    r"|original\s+message\s*(?:[-=]{2,}|(?::[ \t]*)?$)"
    r"|(?:the\s+)?headers?\s+of\s+(?:the|your)\s+original\s+message"
    r"|message\s+headers\s+follow"
    r"|unsent\s+message\s+(?:below|follows)"
    r"|returned\s+message\s+follows"
    r"|(?:your\s+)?message\s+(?:reads|follows)\s*+(?:\(in\s+part\)\s*+)?:"
    r"|(?:start|begin)\s+of\s+(?:returned|original)\s+message"
    r"|text\s+of\s+your\s+message"
    r"|message\s+text\s+follows"
    r"|original\s+message\s+header"
    r"|included\s+is\s+a\s+copy\s+of\s+the\s+message\s+header"
    r")"
)
# Every ORIGINAL_MARKER alternative contains the word "message" (pinned by a unit test).
_MARKER_ANCHOR = "message"

_ORIGINAL_MARKER_LOWER = re.compile(ORIGINAL_MARKER.pattern.replace("(?im)", "(?m)", 1))
# The same markers after a newline: a literal first character lets the regex engine skip
# to line starts instead of trying the pattern at every position (3x faster). A marker on
# the first line is matched at position 0 with the patterns above.
_MARKER_AFTER_NEWLINE = re.compile(ORIGINAL_MARKER.pattern.replace("(?im)^", r"(?im)\n", 1))
_MARKER_AFTER_NEWLINE_LOWER = re.compile(
    _ORIGINAL_MARKER_LOWER.pattern.replace("(?m)^", r"(?m)\n", 1)
)


_T = TypeVar("_T")


class lazy(Generic[_T]):
    """``functools.cached_property`` without its lock (Python 3.11 takes one on every first
    access): computed on first read, then stored in the instance ``__dict__``, which shadows
    this non-data descriptor, so later reads are plain attribute lookups."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> lazy[_T] | _T:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value


class Context:
    """The parsed message and the views of it detectors share."""

    def __init__(self, root: Part) -> None:
        self.root = root
        self.headers: Headers = root.headers
        self._memo: dict[Callable[[Context], object], object] = {}

    def memo(self, compute: Callable[[Context], _T]) -> _T:
        """``compute(self)``, computed once per message: for views a detector module owns but
        correlation reads again (the lazy properties below are the shared ones)."""
        if compute in self._memo:
            return cast(_T, self._memo[compute])
        value = compute(self)
        self._memo[compute] = value
        return value

    @lazy
    def subject(self) -> str:
        return decode_value(self.headers.get("subject"))

    @lazy
    def sender(self) -> str:
        return decode_value(self.headers.get("from"))

    @lazy
    def leaves(self) -> list[Part]:
        return iter_leaves(self.root)

    @lazy
    def text_leaves(self) -> list[Part]:
        return [leaf for leaf in self.leaves if leaf.content_type.startswith("text/")]

    @lazy
    def body_text(self) -> str:
        """The first human-readable text part (HTML stripped when it is the only one)."""
        for leaf in self.text_leaves:
            if leaf.content_type == "text/plain" and leaf.text.strip():
                return leaf.text[:MAX_REPORT_CHARS]
        for leaf in self.text_leaves:
            if leaf.content_type == "text/html":
                return html_to_text(leaf.text[: MAX_REPORT_CHARS * 4])[:MAX_REPORT_CHARS]
        return self.root.text[:MAX_REPORT_CHARS]

    @lazy
    def _marker(self) -> tuple[int, int] | None:
        """Start and end of the first ``ORIGINAL_MARKER`` match in ``body_text``."""
        # Reports sit at the top of the body: the marker is searched in its head only, and
        # only when the word every marker holds occurs at all (the regex is the slow part).
        # One word, not phrases: the marker allows any white space between its words.
        head = self.body_text[:MAX_MARKER_SEARCH]
        lowered = head.lower()
        if _MARKER_ANCHOR not in lowered and lowers_safely(head):
            return None
        if head.isascii():  # same offsets: the case-sensitive pattern on lower case is faster
            return _first_marker_near_message(lowered)
        return _first_marker(head, ORIGINAL_MARKER, _MARKER_AFTER_NEWLINE)

    @lazy
    def report_text(self) -> str:
        """``body_text`` cut where a quoted copy of the original message starts."""
        marker = self._marker
        return self.body_text[: marker[0]] if marker else self.body_text

    @lazy
    def probe(self) -> str:
        """Sender, subject and the head of the report: what detectors recognise a format by."""
        return self.sender + "\n" + self.subject + "\n" + self.report_text[:4000]

    @lazy
    def probe_lower(self) -> str:
        return self.probe.lower()

    @lazy
    def report_command(self) -> str | None:
        """The SMTP command the report text names, if any (shared by every recipient)."""
        return find_command(self.report_text[:4000])

    @lazy
    def original(self) -> Headers | None:
        """Header fields of the returned message, from a MIME part or from quoted text."""
        enclosed = _find_enclosed(self.root, 0)
        if enclosed is not None and len(enclosed.headers):
            return enclosed.headers
        marker = self._marker
        if marker is None:
            return None
        # The header block after the marker line and any blank lines, up to the next empty
        # line (or the end): cut out of body_text by offsets, without copying the rest.
        body = self.body_text
        line_end = body.find("\n", marker[1])
        start = marker[1] if line_end < 0 else line_end + 1
        while body.startswith("\n", start):
            start += 1
        cut = body.find("\n\n", start)
        headers = parse_headers(body[start:] if cut < 0 else body[start : cut + 1])
        return headers if len(headers) else None

    def has_type(self, content_type: str) -> bool:
        return any(leaf.content_type == content_type for leaf in self.leaves) or (
            self.root.content_type == content_type
        )


def _first_marker(
    text: str, at_line_start: re.Pattern[str], after_newline: re.Pattern[str]
) -> tuple[int, int] | None:
    """Where ``at_line_start`` (a ``(?m)^`` pattern) first matches, found with its
    ``after_newline`` form."""
    found = at_line_start.match(text)  # ^ holds at position 0
    if found is not None:
        return found.start(), found.end()
    found = after_newline.search(text)
    return (found.start() + 1, found.end()) if found is not None else None


# Before ``_MARKER_ANCHOR`` in a marker, only these characters: the words' letters, white space
# and the line prefixes.
_MAY_PRECEDE_ANCHOR = "abcdefghijklmnopqrstuvwxyz>|-=_*" + "".join(
    chr(c) for c in range(128) if chr(c).isspace()
)
_ANCHOR_LOOKBACK = 300


def _first_marker_near_message(lowered: str) -> tuple[int, int] | None:
    """``_first_marker`` on lower-cased ASCII text, trying only the lines a match can start on.

    A match starts at a line start before its first "message" with only letters, white space
    and line-prefix characters in between, and no "message" before that one (no marker word
    holds it). So, occurrence by occurrence, only the line starts after the last other
    character before it are tried; the first match found is the first in the text. A run of
    such characters longer than the lookback falls back to searching the whole text.
    """
    at = lowered.find(_MARKER_ANCHOR)
    while at >= 0:
        floor = max(0, at - _ANCHOR_LOOKBACK)
        kept = lowered[floor:at].rstrip(_MAY_PRECEDE_ANCHOR)
        if floor > 0 and not kept:
            return _first_marker(lowered, _ORIGINAL_MARKER_LOWER, _MARKER_AFTER_NEWLINE_LOWER)
        line = floor + len(kept)
        if line > 0 and lowered[line - 1] != "\n":
            line = lowered.find("\n", line, at) + 1 or -1
        while 0 <= line <= at:
            found = _ORIGINAL_MARKER_LOWER.match(lowered, line)
            if found is not None:
                return found.start(), found.end()
            newline = lowered.find("\n", line, at)
            line = newline + 1 if newline >= 0 else -1
        at = lowered.find(_MARKER_ANCHOR, at + 1)
    return None


def _find_enclosed(part: Part, depth: int) -> Part | None:
    if part.enclosed is not None and depth > 0:
        return part.enclosed
    if depth > 8:
        return None
    for child in part.children:
        found = _find_enclosed(child, depth + 1)
        if found is not None:
            return found
    return None


MAX_FORWARD_SEARCH = 64_000  # where a forwarded or enclosed bounce's header may start
MAX_FORWARDED_CHARS = 400_000  # what is kept of it
# The From line of a bounce's header, possibly "> "-quoted by a person forwarding it. The
# blanks after "from:" are taken whole ("[ \t]*+"): the names start with a letter, so blanks
# given back to "[^\n]{0,200}?" could only put a name where no name starts.
_BOUNCE_FROM_LINE = re.compile(
    r"(?im)^((?:>[ \t]?)*)from:[ \t]*+[^\n]{0,200}?(?:mailer[-_ ]?daemon|post_?master|"
    r"mail\s+delivery\s+(?:system|subsystem|service)|delivery\s+(?:status|subsystem))"
)
_HEADER_LINE = re.compile(r"[!-9;-~]+[ \t]*:|[ \t]")
_REPLY_SUBJECT = re.compile(r"(?i)^\s*(?:re|aw|sv|antw)\s*:")
MAX_HEADER_LINES_BACK = 40


def forwarded_bounce(ctx: Context, text: str) -> str | None:
    """The bounce a message carries inside it, as a message of its own: one enclosed as a
    message/rfc822 part, or forwarded by a person with "> " quoting. None for replies (a
    person quoting a bounce to discuss it), for unquoted inline forwards, and when no bounce
    header (From: MAILER-DAEMON, postmaster, Mail Delivery System...) follows the message's
    own header."""
    if _REPLY_SUBJECT.match(ctx.subject):
        return None
    body_start = text.find("\n\n")
    if body_start < 0:
        return None
    found = _BOUNCE_FROM_LINE.search(text, body_start, body_start + MAX_FORWARD_SEARCH)
    if found is None:
        return None
    prefix = found.group(1)
    if not prefix and not _encloses_bounce(ctx):
        # An unquoted inline forward ("---------- Forwarded message ----------") is left
        # alone: a person asking about a bounce (pinned by the human-forwarded-bounce sample).
        return None
    lines = text[body_start : found.start()].split("\n")[-MAX_HEADER_LINES_BACK - 1 : -1]
    start = found.start()
    for line in reversed(lines):  # back to the first line of that header block
        if not line.startswith(prefix) or not _HEADER_LINE.match(line[len(prefix) :]):
            break
        start -= len(line) + 1
    inner = text[start : start + MAX_FORWARDED_CHARS]
    return _unquote(inner, prefix.count(">")) if prefix else inner


def _encloses_bounce(ctx: Context) -> bool:
    """A message/rfc822 part of the message is itself from a mail system."""
    enclosed = _find_enclosed(ctx.root, 0)
    if enclosed is None:
        return False
    sender = "from: " + (enclosed.headers.get("from") or "")
    return _BOUNCE_FROM_LINE.match(sender) is not None


def _unquote(text: str, depth: int) -> str:
    """The quoted lines at the start of ``text`` with ``depth`` levels of "> " taken off."""
    kept: list[str] = []
    for quoted in text.split("\n"):
        line = quoted
        for _ in range(depth):
            if not line.startswith(">"):
                return "\n".join(kept) + "\n"
            line = line[2:] if line.startswith("> ") else line[1:]
        kept.append(line)
    return "\n".join(kept) + "\n"
