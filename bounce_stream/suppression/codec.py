"""Policy records to Avro records (schemas/recipient_state.avsc, suppression_changed.avsc)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from bounce_stream.encoding import AvroSchema, Decoder, Encoder, make_encoder
from bounce_stream.encoding.schemas import SchemaLoadError, history, schema_dir
from bounce_stream.suppression.policy import Change, CountedEvent, RecipientState


@cache
def _schema(name: str) -> AvroSchema:
    path = schema_dir() / f"{name}.avsc"
    try:
        return AvroSchema.from_json(name, path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaLoadError(f"cannot read schema file {path}: {exc.strerror}") from None


def recipient_state_schema() -> AvroSchema:
    return _schema("recipient_state")


def suppression_changed_schema() -> AvroSchema:
    return _schema("suppression_changed")


def state_encoder() -> Encoder:
    return make_encoder(recipient_state_schema())


def change_encoder() -> Encoder:
    return make_encoder(suppression_changed_schema())


def state_decoder() -> Decoder:
    """Every released RecipientState version, resolved to the current one."""
    current = recipient_state_schema()
    return Decoder((*history("recipient_state"), current), reader=current)


def state_to_record(state: RecipientState) -> dict[str, Any]:
    return {
        "recipient": state.recipient,
        "hard_count": state.count("hard"),
        "soft_count": state.count("soft"),
        "complaint_count": state.count("complaint"),
        "window": [{"event_id": e.event_id, "kind": e.kind, "at": e.at} for e in state.window],
        "last_reason": state.last_reason,
        "last_event_id": state.last_event_id,
        "suppressed_since": state.suppressed_since,
        "updated_at": state.updated_at,
    }


def state_from_record(record: Mapping[str, Any]) -> RecipientState:
    return RecipientState(
        recipient=record["recipient"],
        window=tuple(CountedEvent(e["event_id"], e["kind"], e["at"]) for e in record["window"]),
        last_reason=record["last_reason"],
        last_event_id=record["last_event_id"],
        suppressed_since=record["suppressed_since"],
        updated_at=record["updated_at"],
    )


def change_to_record(change: Change) -> dict[str, Any]:
    return {
        "recipient": change.recipient,
        "change": change.change,
        "rule": change.rule,
        "evidence": list(change.evidence),
        "at": change.at,
    }


def change_decoder() -> Decoder:
    """Every released SuppressionChanged version, resolved to the current one."""
    current = suppression_changed_schema()
    return Decoder((*history("suppression_changed"), current), reader=current)
