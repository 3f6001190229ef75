"""Header fields: unfolding, lookup, RFC 2047 decoding with broken charsets, addresses.

Header text arrives latin-1 decoded (lossless); 8-bit values are re-read as UTF-8 when they
are valid UTF-8, which is what non-conforming MTAs almost always send.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator, Sequence

from bounce_stream.detection.textutil import to_text

MAX_HEADER_FIELDS = 500
MAX_FIELD_CHARS = 16_000

# Possessive: a field never gives characters back, which spares the engine its backtracking
# bookkeeping on every line.
_FIELD_BLOCK = re.compile(
    r"^([!-9;-~]+)[ \t]*:[ \t]*([^\n]*+(?:\n[ \t][^\n]*+|(?<=;)\n[^\s:][^:\n]*=[^\n]*+)*+)",
    re.MULTILINE,
)
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_LOCAL_CHAR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
_DOMAIN = (
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
# For fullmatch, and for patterns that embed it after their own anchor.
ADDRESS_RE = re.compile(_LOCAL_CHAR + "+@" + _DOMAIN)
# Searching with ADDRESS_RE is quadratic: every position of a long run of local-part
# characters not followed by "@" rescans the run. A match can only start where such a run
# starts (from anywhere inside it the run ends at the same character), so the search
# pattern starts only there, and takes the run possessively: linear time, same matches.
_ADDRESS_AT_RUN_START = re.compile(f"(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}++@{_DOMAIN}")
_ADDRESS_HERE = re.compile(f"{_LOCAL_CHAR}++@{_DOMAIN}")
_LOCAL_CHARS = frozenset("!#$%&'*+/=?^_`{|}~.-0123456789") | frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
# RFC 5321 4.5.3.1.3: a path is at most 256 octets with its angle brackets.
MAX_ADDRESS_CHARS = 254


class Headers:
    """Ordered header fields with case-insensitive lookup; first occurrence wins in get()."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: list[str], values: Sequence[str]) -> None:
        """``names`` lower-cased, ``values`` raw (still folded), pairwise."""
        # No dict: a block is asked for a few names only, and a list scan in C costs less than
        # hashing every name (Received, DKIM...) into a dict first.
        self._names = names
        self._values = values

    def get(self, name: str) -> str | None:
        key = name.lower()
        names = self._names
        if key not in names:
            return None
        value = self._values[names.index(key)]  # the first occurrence
        return _clean(value) if "\n" in value else value.strip()[:MAX_FIELD_CHARS]

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [
            _clean(value)
            for field_name, value in zip(self._names, self._values, strict=True)
            if field_name == key
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names

    def __len__(self) -> int:
        return len(self._names)

    def items(self) -> list[tuple[str, str]]:
        return [
            (name, _clean(value)) for name, value in zip(self._names, self._values, strict=True)
        ]


def parse_headers(head: str) -> Headers:
    """Parse a header block; a line that is neither a field nor a continuation is skipped.

    One regular-expression pass finds every field with its folded continuation lines
    (including a parameter list continued without indentation after a ";").
    """
    # Values stay folded until read: most fields (Received, DKIM...) never are.
    found = _FIELD_BLOCK.findall(head)[:MAX_HEADER_FIELDS]
    if not found:
        return Headers([], ())
    names, values = zip(*found, strict=False)  # pairs by construction; strict=True costs here
    # Names are ASCII without newlines: one lower() over all of them reads the same as one
    # per name, at a fraction of the calls.
    return Headers("\n".join(names).lower().split("\n"), values)


def _clean(value: str) -> str:
    """Unfold, strip and bound a raw field value."""
    if "\n" in value:
        value = " ".join(line.strip() for line in value[: MAX_FIELD_CHARS * 2].split("\n"))
    return value.strip()[:MAX_FIELD_CHARS]


def decode_value(value: str | None) -> str:
    """Decode RFC 2047 encoded words and 8-bit bytes; never raises."""
    if not value:
        return ""
    text = to_text(value)
    if "=?" not in text:
        return text
    text = _BETWEEN_WORDS.sub(r"\1\2", text)
    return _ENCODED_WORD.sub(_decode_word, text)


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2).upper(), match.group(3)
    charset = charset.split("*", 1)[0]
    try:
        if encoding == "B":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload.replace("_", " ").encode("latin-1", "replace"))
    except (binascii.Error, ValueError):
        return match.group(0)
    codec = charset_codec(charset)
    if codec is None:
        return data.decode("utf-8", "replace")
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


# Codecs Python has that are no MIME charset (IANA registers neither) and decode in
# super-linear time (punycode: 400 kB of digits take ~50 s): read as an unknown charset.
_NOT_CHARSETS = frozenset({"punycode", "idna"})


def charset_codec(charset: str) -> str | None:
    """Python's codec name for a MIME charset; None when unknown or not a charset."""
    try:
        name = codecs.lookup(charset.strip().lower()).name
    except (LookupError, ValueError):
        return None
    return None if name in _NOT_CHARSETS else name


def addresses_in(text: str) -> list[str]:
    """Every address-shaped token in ``text``, lower-cased, in order."""
    return list(_addresses(text, 0))


def first_address(text: str | None) -> str | None:
    """The address in a header like ``Name <a@b>`` or ``rfc822; a@b``; None when absent."""
    if not text:
        return None
    bracket = text.rfind("<")
    if bracket >= 0:
        found = next(_addresses(text, bracket), None)
        if found:
            return found
    return next(_addresses(text, 0), None)


def _addresses(text: str, at: int) -> Iterator[str]:
    """Lower-cased address tokens from ``text[at:]``, in order: ``ADDRESS_RE.finditer`` in
    linear time (see ``_ADDRESS_AT_RUN_START``), without tokens too long to be addresses."""
    while True:
        found = None
        if at > 0 and text[at - 1 : at] in _LOCAL_CHARS:  # a run cut at ``at`` starts there
            found = _ADDRESS_HERE.match(text, at)
        found = found or _ADDRESS_AT_RUN_START.search(text, at)
        if found is None:
            return
        if found.end() - found.start() <= MAX_ADDRESS_CHARS:
            yield found.group(0).lower().strip(".")
        at = found.end()
