"""Tie a bounce back to what was sent: ids, tracking header, extracted headers, VERP, original
sender/subject."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import NamedTuple

from bounce_stream.detection.context import Context
from bounce_stream.detection.headers import ADDRESS_RE, decode_value, first_address
from bounce_stream.detection.model import MAX_EXTRACTED_VALUE_CHARS, ParseOptions
from bounce_stream.detection.mta.rfc3464 import envelope_id
from bounce_stream.detection.textutil import html_to_text, to_text

_VERP_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "to")

# Quoted header lines are searched in the head of each text part only (hostile input: bounded
# work per message), and at most this many candidate lines are looked at per part.
MAX_TEXT_SEARCH = 200_000
MAX_HTML_SEARCH = 400_000  # HTML is longer than the text it shows
MAX_QUOTED_LINES = 2_000
MAX_FOLDED_LINES = 8  # continuation lines read after a quoted header line
# Before a quoted field name on its line: quoting ("> ", "| ") or indentation, at most this long.
MAX_QUOTE_PREFIX = 40
_HTML = "text/html"
_MESSAGE_ID = "message-id"
# One message id in angle brackets: the whole In-Reply-To a bounce may carry.
_ONE_MSG_ID = re.compile(r"[ \t]*(<[^<>\s]{1,990}>)[ \t]*")


class Correlation(NamedTuple):
    """Message-level facts copied into every Bounce of one message.

    A named tuple, not a frozen dataclass: as immutable, and built by one tuple allocation
    instead of an ``object.__setattr__`` per field (once per message).
    """

    original_message_id: str | None
    tracking_id: str | None
    envelope_id: str | None
    verp_recipient: str | None
    original_sender: str | None
    original_subject: str | None
    extracted_headers: tuple[tuple[str, str], ...] = ()


def correlate(ctx: Context, options: ParseOptions) -> Correlation:
    """Ids of the returned original, each looked for where bounces carry it, in this order:

    1. the returned header block: a ``message/rfc822``, ``text/rfc822-headers`` or
       ``message/rfc822-headers`` part, else the header block after an "original message"
       marker in the text;
    2. a header line quoted anywhere in a text part (``> X-Genro-Mail-ID: ...`` included);
    3. the same in HTML parts, tags stripped (Exchange / Office 365 NDRs);
    4. the bounce's own header (some MTAs and ESPs copy X- fields onto the bounce). For the
       Message-ID, the bounce's own one is not the original's: its ``In-Reply-To`` is read
       instead, when that holds exactly one id. Extracted names that do not start with
       ``X-`` (Feedback-ID, List-Id...) would describe the bounce itself there: not read.
    """
    original = ctx.original
    finder = _Finder(ctx, [_MESSAGE_ID, options.tracking_header, *options.extract_headers])
    # "is None", not truthiness: no Headers.__len__ calls (an empty one gives the same Nones).
    return Correlation(
        original_message_id=_clean(finder.find(_MESSAGE_ID, own=True)),
        tracking_id=_clean(finder.find(options.tracking_header, own=True)),
        envelope_id=_clean(envelope_id(ctx)),
        verp_recipient=verp_recipient(ctx, options.verp_separator),
        original_sender=first_address(original.get("from")) if original is not None else None,
        original_subject=(
            decode_value(original.get("subject")) or None if original is not None else None
        ),
        extracted_headers=_extracted(finder, options.extract_headers),
    )


def _extracted(finder: _Finder, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(name as configured, value) for each of ``names`` found; values read as text."""
    found: list[tuple[str, str]] = []
    for name in names:
        value = _clean(finder.find(name, own=name.lower().startswith("x-")))
        if value:
            found.append((name, to_text(value)[:MAX_EXTRACTED_VALUE_CHARS]))
    return tuple(found)


def _clean(value: str | None) -> str | None:
    return value.strip()[:MAX_EXTRACTED_VALUE_CHARS] or None if value else None


class _Finder:
    """Looks header fields up in each place a bounce may carry them (see :func:`correlate`).

    The quoted-line and the HTML search each run at most once per message, for every name
    at once, and only when a name is missing from the places before.
    """

    def __init__(self, ctx: Context, names: Sequence[str]) -> None:
        self._ctx = ctx
        self._pattern = _quoted_field_pattern(names)
        self._quoted: dict[str, str] | None = None
        self._html: dict[str, str] | None = None

    def find(self, name: str, own: bool) -> str | None:
        """The value of field ``name``; ``own``: whether the bounce's own header may hold it."""
        key = name.lower()
        original = self._ctx.original
        value = original.get(key) if original is not None else None
        if value:
            return html.unescape(value) if "&#" in value and _body_is_html(self._ctx) else value
        if self._quoted is None:
            leaves = self._ctx.text_leaves
            plain = [leaf.text[:MAX_TEXT_SEARCH] for leaf in leaves if leaf.content_type != _HTML]
            self._quoted = quoted_fields(plain, self._pattern)
        value = self._quoted.get(key)
        if value:
            return value
        if self._html is None:
            pages = [
                html_to_text(leaf.text[:MAX_HTML_SEARCH])[:MAX_TEXT_SEARCH]
                for leaf in self._ctx.text_leaves
                if leaf.content_type == _HTML
            ]
            # html_to_text knows a few named entities; Exchange also writes "&#43;" for "+".
            found = quoted_fields(pages, self._pattern)
            self._html = {field: html.unescape(text) for field, text in found.items()}
        value = self._html.get(key)
        if value or not own:
            return value
        if key == _MESSAGE_ID:
            one = _ONE_MSG_ID.fullmatch(self._ctx.headers.get("in-reply-to") or "")
            return one.group(1) if one else None
        return self._ctx.headers.get(key)


def _body_is_html(ctx: Context) -> bool:
    """Whether ``ctx.original`` may have been cut out of an HTML body (Exchange's "Original
    message headers:" block): no returned header part, and HTML is the text shown."""
    if any(leaf.enclosed is not None for leaf in ctx.leaves):
        return False
    leaves = ctx.text_leaves
    return any(leaf.content_type == _HTML for leaf in leaves) and not any(
        leaf.content_type == "text/plain" and leaf.text.strip() for leaf in leaves
    )


def _quoted_field_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """A header line for any of ``names``, at a line start after quoting or indentation.

    It starts with the newline before the line (a literal first character lets the engine skip
    to newlines); a line at offset 0 is matched by prepending one. Bounded repetitions, no
    nesting: linear time.
    """
    # Longest first: "x-id" must not win over "x-id-2" at the same place.
    escaped = {re.escape(name.lower()) for name in names if name}
    alternatives = "|".join(sorted(escaped, key=len, reverse=True))
    return re.compile(f"(?i)\n([ \t>|]{{0,{MAX_QUOTE_PREFIX}}})({alternatives})[ \t]*:")


def quoted_fields(texts: Sequence[str], pattern: re.Pattern[str]) -> dict[str, str]:
    """Lower-cased name -> value of the first non-empty quoted header line of each name in
    ``texts`` (in order), continuation lines with the same quoting unfolded."""
    found: dict[str, str] = {}
    for text in texts:
        lines = "\n" + text  # the pattern starts with the newline before a line
        for tries, match in enumerate(pattern.finditer(lines)):
            if tries >= MAX_QUOTED_LINES:
                break
            key = match.group(2).lower()
            if key not in found:
                value = _quoted_value(lines, match.end(), match.group(1))
                if value:
                    found[key] = value
    return found


def _quoted_value(text: str, start: int, prefix: str) -> str:
    """The rest of the line at ``start`` and its continuation lines: lines that, after the
    header line's own ``prefix``, start with white space (RFC 5322 folding, quoted)."""
    pieces: list[str] = []
    at = start
    for _ in range(MAX_FOLDED_LINES + 1):
        end = text.find("\n", at, at + MAX_EXTRACTED_VALUE_CHARS)
        line = text[at : at + MAX_EXTRACTED_VALUE_CHARS] if end < 0 else text[at:end]
        if pieces and not _continues(line, prefix):
            break
        pieces.append(line[len(prefix) :].strip() if pieces else line.strip())
        if end < 0:
            break
        at = end + 1
    return " ".join(piece for piece in pieces if piece)


def _continues(line: str, prefix: str) -> bool:
    """Whether ``line`` folds the quoted header line before it: same quoting, then white space
    and something (a blank line ends a header block)."""
    return (
        line.startswith(prefix)
        and line[len(prefix) : len(prefix) + 1] in (" ", "\t")
        and not line.isspace()
    )


def verp_recipient(ctx: Context, separator: str | None) -> str | None:
    """Decode ``prefix<sep>local=domain@host`` from the bounce's envelope headers."""
    if not separator:
        return None
    for name in _VERP_HEADERS:
        for value in ctx.headers.get_all(name):
            address = first_address(value)
            decoded = decode_verp(address, separator) if address else None
            if decoded:
                return decoded
    return None


def decode_verp(address: str, separator: str) -> str | None:
    """``bounces+alice=example.org@sender.test`` -> ``alice@example.org``."""
    local = address.rsplit("@", 1)[0]
    if separator not in local:
        return None
    encoded = local.split(separator, 1)[1]
    if "=" not in encoded:
        return None
    mailbox, _, domain = encoded.rpartition("=")
    candidate = f"{mailbox}@{domain}".lower()
    return candidate if ADDRESS_RE.fullmatch(candidate) else None
