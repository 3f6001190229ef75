"""Tie a bounce back to what was sent: ids, tracking header, VERP, original sender/subject."""

from __future__ import annotations

from typing import NamedTuple

from bounce_stream.detection.context import Context
from bounce_stream.detection.headers import ADDRESS_RE, decode_value, first_address
from bounce_stream.detection.model import ParseOptions
from bounce_stream.detection.mta.rfc3464 import envelope_id

_VERP_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "to")


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


def correlate(ctx: Context, options: ParseOptions) -> Correlation:
    # "is None", not truthiness: no Headers.__len__ calls (an empty one gives the same Nones).
    original = ctx.original
    if original is None:
        # No parseable returned header: the report may still quote the header line.
        return Correlation(
            original_message_id=None,
            tracking_id=_clean(_tracking_in_text(ctx, options.tracking_header)),
            envelope_id=_clean(envelope_id(ctx)),
            verp_recipient=verp_recipient(ctx, options.verp_separator),
            original_sender=None,
            original_subject=None,
        )
    return Correlation(
        original_message_id=_clean(original.get("message-id")),
        tracking_id=_clean(original.get(options.tracking_header)),
        envelope_id=_clean(envelope_id(ctx)),
        verp_recipient=verp_recipient(ctx, options.verp_separator),
        original_sender=first_address(original.get("from")),
        original_subject=decode_value(original.get("subject")) or None,
    )


def _clean(value: str | None) -> str | None:
    return value.strip()[:998] or None if value else None


def _tracking_in_text(ctx: Context, header: str) -> str | None:
    """Some bounces quote the original header inside the report text."""
    needle = header.lower() + ":"
    for leaf in ctx.text_leaves:
        text = leaf.text[:200_000]
        at = text.lower().find(needle)
        if at >= 0:
            line = text[at + len(needle) :].split("\n", 1)[0].strip()
            return line or None
    return None


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
