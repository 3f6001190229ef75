"""A small, forgiving MIME reader for bounce messages.

Why not :mod:`email`: the stdlib parser is several times slower than this on bounce-sized
messages and builds far more than detection needs. This reader decodes the raw bytes as
latin-1 (lossless), normalises line endings, and only decodes transfer encodings and
charsets of the parts detection reads. Every limit below bounds time and memory on
hostile input; nothing here raises on malformed MIME.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from bounce_stream.detection.headers import Headers, charset_codec, parse_headers

MAX_MESSAGE_CHARS = 2_000_000  # structure analysis never looks past this
MAX_PART_CHARS = 400_000  # decoded text kept per leaf part
MAX_DEPTH = 8  # nested multiparts / message/rfc822 levels
MAX_PARTS = 64  # leaves collected per message
MAX_DELIMITER_TRIES = 20_000  # boundary look-alikes examined per multipart

_TEXTUAL = ("text/", "message/delivery-status", "message/feedback-report", "message/global-")
_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_LEADING_NEWLINES = re.compile(r"\n*")
# A delimiter line: "--" and a boundary of RFC 2046's characters without spaces (one line of
# only dashes is a separator people draw, not a delimiter).
_FIRST_DELIMITER = re.compile(
    r"^--(?=-*[0-9A-Za-z'()+_,./:=?])([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*$", re.MULTILINE
)


@dataclass(slots=True)
class Part:
    """One MIME entity: its headers, its decoded text (textual leaves) and its children."""

    headers: Headers
    content_type: str
    params: dict[str, str]
    text: str = ""
    children: list[Part] = field(default_factory=list)
    # For message/rfc822 and text/ or message/rfc822-headers: the enclosed message.
    enclosed: Part | None = None


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF and bare CR become LF."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def content_type_of(headers: Headers, default: str = "text/plain") -> tuple[str, dict[str, str]]:
    """The lower-cased media type and its parameters (values unquoted)."""
    value = headers.get("content-type")
    if not value:
        return default, {}
    head, _, _ = value.partition(";")
    ctype = head.strip().lower() or default
    if "/" not in ctype:
        ctype = default
    params: dict[str, str] = {}
    if ";" in value:  # every parameter follows one
        for name, raw_value in _PARAM_RE.findall(value):
            params.setdefault(name.lower(), raw_value.strip('"').strip())
    return ctype, params


def decode_body(body: str, headers: Headers, charset: str | None) -> str:
    """Undo the transfer encoding of a latin-1 body and decode it with ``charset``."""
    cte = (headers.get("content-transfer-encoding") or "").strip().lower()
    stateful = (charset or "").strip().lower().startswith(("iso-2022", "utf-7", "hz"))
    if cte not in ("base64", "quoted-printable") and not stateful and body.isascii():
        return body[:MAX_PART_CHARS]  # 7-bit text reads the same in any ASCII charset
    data = body[:MAX_PART_CHARS].encode("latin-1", "replace")
    if cte == "base64":
        data = _unbase64(data)
    elif cte == "quoted-printable":
        data = binascii.a2b_qp(data)
    return decode_charset(data, charset)


def _unbase64(data: bytes) -> bytes:
    compact = _NOT_BASE64.sub(b"", data)
    compact = compact[: len(compact) - len(compact) % 4]
    try:
        return binascii.a2b_base64(compact)
    except (binascii.Error, ValueError):
        return b""


def decode_charset(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset when Python knows it, else UTF-8, else latin-1."""
    if charset:
        name = charset_codec(charset)
        if name and name not in {"utf-8", "ascii"}:
            try:
                return data.decode(name, "replace")
            except (UnicodeError, LookupError, ValueError):
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_entity(
    text: str, depth: int = 0, budget: list[int] | None = None, start: int = 0, end: int = -1
) -> Part:
    """Parse one entity (a whole message or a body part) from newline-normalised text.

    The entity is ``text[start:end]`` (to the end when ``end`` is -1): parts are read in
    place, by offsets, and only the header blocks and the leaf bodies detection reads are
    ever copied out of the message.
    """
    budget = budget if budget is not None else [MAX_PARTS]
    end = len(text) if end < 0 else end
    if text.startswith("\n", start, end):
        head, body_start = "", start + 1
    else:
        cut = text.find("\n\n", start, end)
        head, body_start = (text[start:end], end) if cut < 0 else (text[start : cut + 1], cut + 2)
    headers = parse_headers(head)
    ctype, params = content_type_of(headers)
    part = Part(headers=headers, content_type=ctype, params=params)
    if depth >= MAX_DEPTH or budget[0] <= 0:
        return part
    if ctype.startswith("multipart/"):
        declared = params.get("boundary", "")
        boundary = declared or _guess_boundary(text[body_start : body_start + 4000])
        part.children = _parse_children(text, body_start, end, boundary, depth, budget)
        if not part.children and declared:
            # The header's boundary occurs nowhere (mangled by a relay or a forwarder): the
            # body's own first delimiter line is the one actually used.
            guessed = _guess_boundary(text[body_start : body_start + 4000])
            if guessed and guessed != declared:
                part.children = _parse_children(text, body_start, end, guessed, depth, budget)
        if not part.children:
            body = text[body_start:end]
            if body.strip():
                part.text = body[:MAX_PART_CHARS]
    elif ctype in ("message/rfc822", "message/global", "message/partial"):
        budget[0] -= 1
        part.enclosed = _enclosed_headers(text, body_start, end, headers)
    elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
        budget[0] -= 1
        inner = _inner(text[body_start:end], headers)
        part.enclosed = Part(headers=parse_headers(inner), content_type=ctype, params={})
    else:
        budget[0] -= 1
        if ctype.startswith(_TEXTUAL) or ctype == "application/json":
            part.text = decode_body(text[body_start:end], headers, params.get("charset"))
    return part


def _guess_boundary(body: str) -> str:
    """The boundary of a multipart whose Content-Type lost it, or names one its body does not
    use: its first ``--x`` line (searched in the body's head only)."""
    found = _FIRST_DELIMITER.search(body[:4000])
    return found.group(1) if found else ""


def _enclosed_headers(text: str, start: int, end: int, headers: Headers) -> Part:
    """The returned message in ``text[start:end]``: detection only reads its header, so its
    body is neither parsed nor copied (it can be large: attachments)."""
    cte = (headers.get("content-transfer-encoding") or "").strip().lower()
    if cte in ("base64", "quoted-printable"):
        text = _inner(text[start:end], headers)
        start, end = 0, len(text)
    else:  # _inner's lstrip("\n"), as an offset
        leading = _LEADING_NEWLINES.match(text, start, end)
        start = leading.end() if leading else start
    end = min(end, start + MAX_PART_CHARS)
    if text.startswith("\n", start, end):
        head = ""
    else:
        cut = text.find("\n\n", start, end)
        head = text[start:end] if cut < 0 else text[start : cut + 1]
    headers = parse_headers(head)
    ctype, params = content_type_of(headers)
    return Part(headers=headers, content_type=ctype, params=params)


def _inner(body: str, headers: Headers) -> str:
    """The enclosed message of a message/* part, undoing any (illegal) transfer encoding."""
    cte = (headers.get("content-transfer-encoding") or "").strip().lower()
    if cte in ("base64", "quoted-printable"):
        return decode_body(body, headers, "latin-1").replace("\r\n", "\n")
    return body.lstrip("\n")


def _parse_children(
    text: str, start: int, end: int, boundary: str, depth: int, budget: list[int]
) -> list[Part]:
    """The parts of the multipart body ``text[start:end]``."""
    if not boundary:
        return []
    children: list[Part] = []
    child: int | None = None
    for line_start, line_end, closing in _delimiters(text, start, end, "--" + boundary):
        if child is not None:
            children.append(
                parse_entity(text, depth + 1, budget, child, max(child, line_start - 1))
            )
        if closing or budget[0] <= 0:
            return children
        child = line_end + 1
    if child is not None and child < end:  # truncated: no closing delimiter
        children.append(parse_entity(text, depth + 1, budget, child, end))
    return children


def _delimiters(text: str, start: int, end: int, marker: str) -> list[tuple[int, int, bool]]:
    """(line start, line end, is closing) of every ``--boundary`` line in ``text[start:end]``,
    in order."""
    found: list[tuple[int, int, bool]] = []
    at = text.find(marker, start, end)
    tries = 0
    while at >= 0 and len(found) <= MAX_PARTS * 4 and tries < MAX_DELIMITER_TRIES:
        tries += 1
        if at == start or text[at - 1] == "\n":
            line_end = text.find("\n", at, end)
            line_end = end if line_end < 0 else line_end
            rest = text[at + len(marker) : line_end]
            closing = rest.startswith("--")
            if not (rest[2:] if closing else rest).strip(" \t"):
                found.append((at, line_end, closing))
        at = text.find(marker, at + len(marker), end)
    return found


def iter_leaves(part: Part, depth: int = 0) -> list[Part]:
    """Leaf parts in document order, not descending into enclosed messages."""
    if depth > MAX_DEPTH:
        return []
    if not part.children:
        return [part]
    leaves: list[Part] = []
    for child in part.children:
        leaves.extend(iter_leaves(child, depth + 1))
    return leaves
