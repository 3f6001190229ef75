"""From detection results to event records shaped like ``schemas/bounce_event.avsc``. Pure."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bounce_stream.detection import Bounce, ParseResult

# Fixed namespace so event ids are stable across versions, hosts and mailboxes.
_EVENT_NAMESPACE = uuid.UUID("6f2b7c1e-9a43-5d0e-8b1f-3c2a9e7d4b10")

# RFC 5321 4.5.3.1.3: a path (the address in angle brackets) is at most 256 octets. The
# recipient is the Kafka key: a longer one is no address, and the message is dead-lettered.
MAX_RECIPIENT_OCTETS = 256

# Fields that say where and when a message was read; `parse` (offline) has none of them.
SOURCE_FIELDS = ("detected_at", "mailbox", "uid", "uidvalidity")


@dataclass(frozen=True, slots=True)
class Source:
    """Where and when a message was read."""

    mailbox: str
    uid: int
    uidvalidity: int
    detected_at: datetime


def event_id(fingerprint: str, recipient: str, occurrence: int = 0) -> str:
    """Deterministic id: same bounce message and recipient -> same id, wherever it was read.

    It depends on nothing the classifier decides (reason, status, action), so a re-read after
    an upgrade still matches. ``occurrence`` tells apart one recipient listed twice.
    """
    name = f"{fingerprint}\n{recipient.lower()}\n{occurrence}"
    return str(uuid.uuid5(_EVENT_NAMESPACE, name))


def event_record(
    result: ParseResult, bounce: Bounce, source: Source | None, occurrence: int = 0
) -> dict[str, Any]:
    """The Avro record for one bounce; without ``source`` the source fields are left out."""
    record: dict[str, Any] = {
        "event_id": event_id(result.fingerprint, bounce.recipient, occurrence)
    }
    if source is not None:
        record.update(
            detected_at=source.detected_at,
            mailbox=source.mailbox,
            uid=source.uid,
            uidvalidity=source.uidvalidity,
        )
    record.update(
        bounce_message_id=result.bounce_message_id,
        recipient=bounce.recipient.lower(),
        action=bounce.action.value if bounce.action else None,
        status=bounce.status,
        reply_code=bounce.reply_code,
        diagnostic_code=bounce.diagnostic_code,
        diagnostic_type=bounce.diagnostic_type,
        reason=bounce.reason.value,
        hard_bounce=bounce.hard_bounce,
        bounce_type=bounce.bounce_type.value,
        remote_mta=bounce.remote_mta,
        reporting_mta=bounce.reporting_mta,
        smtp_command=bounce.smtp_command,
        feedback_type=bounce.feedback_type,
        arrival_date=bounce.arrival_date,
        original_message_id=bounce.original_message_id,
        tracking_id=bounce.tracking_id,
        envelope_id=bounce.envelope_id,
        verp_recipient=bounce.verp_recipient,
        original_sender=bounce.original_sender,
        original_subject=bounce.original_subject,
        detected_by=bounce.detected_by,
        extracted_headers=dict(bounce.extracted_headers),
    )
    return record


class UnpublishableRecipient(ValueError):
    """A recipient that cannot be an event key; the message is dead-lettered instead."""


def check_recipient(recipient: str) -> None:
    """Refuse a recipient over the RFC 5321 path limit or holding a NUL (never in the text)."""
    if "\x00" in recipient:
        raise UnpublishableRecipient("recipient address contains a NUL character")
    octets = len(recipient.encode("utf-8", "surrogatepass"))
    if octets > MAX_RECIPIENT_OCTETS:
        raise UnpublishableRecipient(
            f"recipient address of {octets} octets exceeds the RFC 5321 limit of "
            f"{MAX_RECIPIENT_OCTETS}"
        )


def event_records(result: ParseResult, source: Source | None) -> list[dict[str, Any]]:
    """One record per bounce; UnpublishableRecipient when any recipient cannot be a key."""
    for bounce in result.bounces:
        check_recipient(bounce.recipient)
    seen: Counter[str] = Counter()
    records = []
    for bounce in result.bounces:
        key = bounce.recipient.lower()
        records.append(event_record(result, bounce, source, seen[key]))
        seen[key] += 1
    return records


def to_json_ready(record: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO 8601 strings in UTC (as the Avro timestamps carry them; a naive one
    is taken as UTC, like the encoder does), bytes as latin-1 text; everything else unchanged."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, datetime):
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            out[key] = utc.isoformat()
        elif isinstance(value, bytes):
            out[key] = value.decode("latin-1")
        else:
            out[key] = value
    return out
