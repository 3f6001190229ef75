"""Typed results of detection: one :class:`Bounce` per recipient of one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

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


class _BounceLayout:
    """:class:`Bounce`'s slots without its frozen ``__setattr__``: see :func:`new_bounce`."""

    __slots__ = Bounce.__slots__


def new_bounce(
    *,
    recipient: str,
    reason: Reason,
    detected_by: str,
    action: Action | None,
    status: str | None,
    reply_code: str | None,
    diagnostic_code: str | None,
    diagnostic_type: str | None,
    remote_mta: str | None,
    reporting_mta: str | None,
    smtp_command: str | None,
    feedback_type: str | None,
    arrival_date: datetime | None,
    original_message_id: str | None,
    tracking_id: str | None,
    envelope_id: str | None,
    verp_recipient: str | None,
    original_sender: str | None,
    original_subject: str | None,
) -> Bounce:
    """``Bounce(...)`` with every field given, several times cheaper.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (two
    tuples and a type lookup per field); here the fields are stored as plain slot writes in
    an object of the same layout, whose class then becomes ``Bounce``: the result is an
    ordinary, frozen ``Bounce``.
    """
    bounce: Any = object.__new__(_BounceLayout)  # Any: mypy cannot see its slots
    bounce.recipient = recipient
    bounce.reason = reason
    bounce.detected_by = detected_by
    bounce.action = action
    bounce.status = status
    bounce.reply_code = reply_code
    bounce.diagnostic_code = diagnostic_code
    bounce.diagnostic_type = diagnostic_type
    bounce.remote_mta = remote_mta
    bounce.reporting_mta = reporting_mta
    bounce.smtp_command = smtp_command
    bounce.feedback_type = feedback_type
    bounce.arrival_date = arrival_date
    bounce.original_message_id = original_message_id
    bounce.tracking_id = tracking_id
    bounce.envelope_id = envelope_id
    bounce.verp_recipient = verp_recipient
    bounce.original_sender = original_sender
    bounce.original_subject = original_subject
    bounce.__class__ = Bounce
    return cast(Bounce, bounce)


# new_bounce has to set every field: a field added to Bounce must be added there too.
if new_bounce.__code__.co_kwonlyargcount != len(Bounce.__slots__) or set(
    new_bounce.__code__.co_varnames[: len(Bounce.__slots__)]
) != set(Bounce.__slots__):
    raise RuntimeError("new_bounce does not set exactly the fields of Bounce")


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
