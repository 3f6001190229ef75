"""bounce_stream.consumer: both framings, typed events, and records of other schema versions."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bounce_stream.consumer import BounceEventRecord, EventDecoder, RecordDecoder
from bounce_stream.encoding.avro import (
    ConfluentEncoder,
    DecodeError,
    SchemaMismatchError,
    SingleObjectEncoder,
    UnknownFingerprintError,
)
from bounce_stream.encoding.schemas import AvroSchema, bounce_event_schema, dead_letter_schema


def _event(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": "6f1c3a52-0000-5000-8000-000000000001",
        "detected_at": datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC),
        "mailbox": "imap://bounces@example.test:993/INBOX",
        "uid": 7,
        "uidvalidity": 1700000000,
        "bounce_message_id": "<dsn-1@mx.sender.test>",
        "recipient": "user@example.org",
        "action": "failed",
        "status": "5.1.1",
        "reply_code": "550",
        "diagnostic_code": "550 5.1.1 user unknown",
        "diagnostic_type": "SMTP",
        "reason": "userunknown",
        "hard_bounce": True,
        "bounce_type": "hard",
        "remote_mta": "mx.example.org",
        "reporting_mta": "mx.sender.test",
        "smtp_command": "RCPT",
        "feedback_type": None,
        "arrival_date": datetime(2026, 11, 25, 9, 59, 58, tzinfo=UTC),
        "original_message_id": "<orig-1@sender.test>",
        "tracking_id": "mail-1",
        "envelope_id": None,
        "verp_recipient": None,
        "original_sender": "news@sender.test",
        "original_subject": "Hello",
        "detected_by": "rfc3464",
        "extracted_headers": {"X-Campaign-ID": "c-7"},
    }
    record.update(changes)
    return record


def _evolved(extra_field: bool = False, drop: str | None = None) -> AvroSchema:
    """The shipped BounceEvent schema with a new field (with default) or one field removed."""
    definition = copy.deepcopy(dict(bounce_event_schema().definition))
    if extra_field:
        definition["fields"].append(
            {"name": "campaign", "type": ["null", "string"], "default": None}
        )
    if drop is not None:
        definition["fields"] = [f for f in definition["fields"] if f["name"] != drop]
    return AvroSchema.from_json("evolved", json.dumps(definition))


def test_event_record_fields_are_the_schema_fields() -> None:
    """BounceEventRecord has exactly the shipped schema's fields, in its order."""
    names = tuple(f.name for f in dataclasses.fields(BounceEventRecord))
    assert names == bounce_event_schema().field_names


def test_single_object_value_decodes_to_a_typed_event() -> None:
    """A single-object value and its headers give a BounceEventRecord with every field."""
    encoder = SingleObjectEncoder(bounce_event_schema())
    event = EventDecoder().decode(encoder.encode(_event()), encoder.headers())
    assert event == BounceEventRecord(**_event())
    assert event.hard_bounce and event.detected_at == datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)


def test_confluent_value_decodes_with_a_known_schema_id() -> None:
    """A Confluent-framed value decodes once its registry id is known."""
    encoder = ConfluentEncoder(bounce_event_schema(), 17)
    decoder = EventDecoder()
    decoder.add_schema_id(17, bounce_event_schema())
    assert decoder.decode(encoder.encode(_event()), dict(encoder.headers())).recipient == (
        "user@example.org"
    )


def test_newer_writer_with_an_extra_field_is_read_as_the_shipped_schema() -> None:
    """An event written by a newer schema (extra field with default) loses only that field."""
    newer = _evolved(extra_field=True)
    data = SingleObjectEncoder(newer).encode(_event(campaign="spring"))
    with pytest.raises(UnknownFingerprintError):
        EventDecoder().decode(data)
    event = EventDecoder(writer_schemas=[newer]).decode(data)
    assert event == BounceEventRecord(**_event())


def test_older_writer_without_a_field_gets_its_default() -> None:
    """An event written by an older schema lacking detected_by reads it as the default ""."""
    older = _evolved(drop="detected_by")
    record = _event()
    del record["detected_by"]
    event = EventDecoder(writer_schemas=[older]).decode(SingleObjectEncoder(older).encode(record))
    assert event.detected_by == ""
    assert event.recipient == "user@example.org"


class _Registry:
    def __init__(self, schemas: dict[int, AvroSchema]) -> None:
        self.schemas = schemas
        self.asked: list[int] = []

    async def get_schema(self, schema_id: int) -> str:
        self.asked.append(schema_id)
        return self.schemas[schema_id].to_json()


def test_confluent_newer_writer_is_fetched_from_the_registry_once() -> None:
    """A Confluent id unknown to the decoder is fetched once and resolved to the shipped schema."""
    newer = _evolved(extra_field=True)
    registry = _Registry({42: newer})
    decoder = EventDecoder(registry=registry)
    data = ConfluentEncoder(newer, 42).encode(_event(campaign="x"))

    async def twice() -> list[BounceEventRecord]:
        return [await decoder.decode_async(data), await decoder.decode_async(data)]

    assert asyncio.run(twice()) == [BounceEventRecord(**_event())] * 2
    assert registry.asked == [42]


def test_content_type_contradicting_the_bytes_is_refused() -> None:
    """A value whose content-type names the other framing is a DecodeError, not a guess."""
    data = SingleObjectEncoder(bounce_event_schema()).encode(_event())
    headers = [("content-type", b"application/vnd.apache.avro+binary; format=confluent")]
    with pytest.raises(DecodeError, match="format=confluent"):
        EventDecoder().decode(data, headers)


def test_a_dead_letter_is_not_taken_for_an_event() -> None:
    """A record of another schema is a SchemaMismatchError, from the header or the bytes."""
    encoder = SingleObjectEncoder(dead_letter_schema())
    dead = {
        "mailbox": "m",
        "uid": 1,
        "uidvalidity": 1,
        "error": "e",
        "size": 0,
        "raw": b"",
        "failed_at": 0,
    }
    with pytest.raises(SchemaMismatchError):
        EventDecoder().decode(encoder.encode(dead), encoder.headers())
    with pytest.raises(SchemaMismatchError):
        EventDecoder().decode(encoder.encode(dead))
    assert RecordDecoder().decode(encoder.encode(dead))["error"] == "e"
