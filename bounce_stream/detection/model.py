"""Typed results of detection: one :class:`Bounce` per recipient of one message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bounce_stream.detection.reasons import BounceType, Reason, bounce_type, is_hard

DEFAULT_TRACKING_HEADER = "X-Genro-Mail-ID"
# ``extract_headers``: at most this many names, each a header field name of at most
# MAX_HEADER_NAME_CHARS characters; values are cut at RFC 5322's line limit.
MAX_EXTRACT_HEADERS = 20
MAX_HEADER_NAME_CHARS = 76
MAX_EXTRACTED_VALUE_CHARS = 998


class Action(StrEnum):
    """RFC 3464 Action values."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """What the operator tells detection about their own mail."""

    tracking_header: str = DEFAULT_TRACKING_HEADER
    # VERP: envelope sender local parts like ``bounces+alice=example.org@sender.test``.
    # ``verp_separator`` splits the prefix from the encoded address ("+" above); None = off.
    verp_separator: str | None = None
    # Header fields of the returned original published as ``extracted_headers`` (e.g.
    # X-Campaign-ID, Feedback-ID, List-Id). A list is accepted (JSON round trips give one) and
    # kept as a tuple; names that are no header field name, repeats and extras beyond
    # MAX_EXTRACT_HEADERS are dropped.
    extract_headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extract_headers", usable_header_names(self.extract_headers))


@dataclass(frozen=True, slots=True)
class Bounce:
    """One failed (or delayed, delivered, complained-about, auto-replied) recipient.

    Field names are those of ``schemas/bounce_event.avsc``.
    """

    recipient: str
    reason: Reason
    detected_by: str
    action: Action | None = None
    status: str | None = None
    reply_code: str | None = None
    diagnostic_code: str | None = None
    diagnostic_type: str | None = None
    remote_mta: str | None = None
    reporting_mta: str | None = None
    smtp_command: str | None = None
    feedback_type: str | None = None
    arrival_date: datetime | None = None
    original_message_id: str | None = None
    tracking_id: str | None = None
    envelope_id: str | None = None
    verp_recipient: str | None = None
    original_sender: str | None = None
    original_subject: str | None = None
    # (configured name, value) for each ``ParseOptions.extract_headers`` name found.
    extracted_headers: tuple[tuple[str, str], ...] = ()

    @property
    def hard_bounce(self) -> bool:
        return is_hard(self.reason, self.status, self.reply_code)

    @property
    def bounce_type(self) -> BounceType:
        return bounce_type(self.reason, self.hard_bounce)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything detection decided about one message.

    ``bounces`` is empty for a message that is not a bounce. ``error`` is set (and ``bounces``
    empty) when the bytes are not a readable Internet message at all; the pipeline sends such
    messages to the dead-letter topic.
    """

    bounces: tuple[Bounce, ...] = ()
    bounce_message_id: str | None = None
    # Identity of the message for deterministic event ids: its Message-ID when it has one,
    # otherwise a digest of its normalised bytes.
    fingerprint: str = ""
    error: str | None = None


def is_header_name(name: str) -> bool:
    """RFC 5322 2.2 field name: printable ASCII except ":" (bounded in length here)."""
    return (
        0 < len(name) <= MAX_HEADER_NAME_CHARS
        and all("!" <= c <= "~" for c in name)
        and (":" not in name)
    )


def usable_header_names(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` that are header field names, first spelling of each, at most
    MAX_EXTRACT_HEADERS of them."""
    if isinstance(names, str):  # one name, not its characters
        names = (names,)
    kept: list[str] = []
    seen: set[str] = set()
    for name in names:
        if len(kept) >= MAX_EXTRACT_HEADERS:
            break
        if isinstance(name, str) and is_header_name(name) and name.lower() not in seen:
            seen.add(name.lower())
            kept.append(name)
    return tuple(kept)
