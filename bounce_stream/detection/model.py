"""Typed results of detection: one :class:`Bounce` per recipient of one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bounce_stream.detection.reasons import BounceType, Reason, bounce_type, is_hard

DEFAULT_TRACKING_HEADER = "X-Genro-Mail-ID"


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
