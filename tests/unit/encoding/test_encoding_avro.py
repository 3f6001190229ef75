"""Framing records as Avro single-object or Confluent messages, the Kafka headers, decoding."""

from __future__ import annotations

import copy
import json
import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from bounce_stream.detection import Action, Bounce, ParseResult, Reason
from bounce_stream.encoding import (
    DecodeError,
    Decoder,
    EncodingError,
    RecordEncodeError,
    SchemaMismatchError,
    UnknownFingerprintError,
    UnknownMagicError,
    UnknownSchemaIdError,
    WireFormat,
    bounce_event_schema,
    dead_letter_schema,
    get_schema,
    kafka_headers,
    mailbox_checkpoint_schema,
    make_encoder,
    wire_format_of,
)
from bounce_stream.encoding.avro import ConfluentEncoder, SingleObjectEncoder
from bounce_stream.encoding.schemas import SCHEMA_NAMES, AvroSchema, SchemaName
from bounce_stream.events import Source, event_record

FORMATS = [None, 7]  # schema id: None = single-object, an int = Confluent framing


def _decoder_for(schema_id: int | None, schema: AvroSchema) -> Decoder:
    decoder = Decoder()
    if schema_id is not None:
        decoder.add_schema_id(schema_id, schema)
    return decoder


@pytest.mark.parametrize("schema_id", FORMATS)
@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_round_trip(
    name: SchemaName, schema_id: int | None, sample_records: dict[str, dict[str, Any]]
) -> None:
    """Every record type decodes to what was encoded, in both wire formats."""
    schema = get_schema(name)
    encoder = make_encoder(schema, schema_id)
    data = encoder.encode(sample_records[name])
    assert _decoder_for(schema_id, schema).decode(data) == sample_records[name]


def test_single_object_frame_layout() -> None:
    """A single-object frame is C3 01, the 8-byte little-endian fingerprint, then the body."""
    schema = mailbox_checkpoint_schema()
    record = {"mailbox": "m", "uidvalidity": 1, "last_uid": 2, "committed_at": 0}
    data = SingleObjectEncoder(schema).encode(record)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == struct.pack("<Q", schema.fingerprint)
    # "m" = len 1 (zigzag 2) + 'm'; 1 -> 02; 2 -> 04; 0 -> 00; messages 0 -> 00; instance "" -> 00
    assert data[10:] == b"\x02m\x02\x04\x00\x00\x00"


def test_confluent_frame_layout() -> None:
    """A Confluent frame is 00, the 4-byte big-endian schema id, then the body."""
    schema = mailbox_checkpoint_schema()
    record = {"mailbox": "m", "uidvalidity": 1, "last_uid": 2, "committed_at": 0}
    data = ConfluentEncoder(schema, 0x01020304).encode(record)
    assert data[:5] == b"\x00\x01\x02\x03\x04"
    assert data[5:] == b"\x02m\x02\x04\x00\x00\x00"


def test_make_encoder_picks_format_from_schema_id() -> None:
    """Without a registry id the encoder is single-object; with one it is Confluent."""
    assert make_encoder(dead_letter_schema()).wire_format is WireFormat.SINGLE_OBJECT
    assert make_encoder(dead_letter_schema(), 3).wire_format is WireFormat.CONFLUENT


def test_schema_id_must_fit_four_bytes() -> None:
    """A registry id outside 0..2**32-1 is refused when building the encoder."""
    with pytest.raises(ValueError, match="4 bytes"):
        ConfluentEncoder(dead_letter_schema(), 2**32)


def test_event_record_output_encodes_and_decodes() -> None:
    """The dicts built by events.event_record encode as BounceEvent without any massaging."""
    bounce = Bounce(
        recipient="Bob@Example.com",
        reason=Reason.MAILBOXFULL,
        detected_by="rfc3464",
        action=Action.DELAYED,
        status="4.2.2",
    )
    result = ParseResult(bounces=(bounce,), fingerprint="<x@y>", bounce_message_id="<b@mx>")
    source = Source("imap://u@h:993/INBOX", 9, 1, datetime(2026, 5, 1, 12, tzinfo=UTC))
    record = event_record(result, bounce, source)
    data = make_encoder(bounce_event_schema()).encode(record)
    decoded = Decoder().decode(data)
    assert decoded == record
    assert decoded["bounce_type"] == "soft"


def test_single_object_headers() -> None:
    """Single-object records carry content-type format=single-object, name and fingerprint."""
    schema = bounce_event_schema()
    assert make_encoder(schema).headers() == [
        ("content-type", b"application/vnd.apache.avro+binary; format=single-object"),
        ("avro.schema.name", b"io.bouncestream.BounceEvent"),
        ("avro.schema.fingerprint", schema.fingerprint_hex.encode()),
    ]


def test_confluent_headers() -> None:
    """Confluent records carry content-type format=confluent and the decimal schema id too."""
    schema = dead_letter_schema()
    assert make_encoder(schema, 42).headers() == [
        ("content-type", b"application/vnd.apache.avro+binary; format=confluent"),
        ("avro.schema.name", b"io.bouncestream.DeadLetter"),
        ("avro.schema.fingerprint", schema.fingerprint_hex.encode()),
        ("avro.schema.id", b"42"),
    ]


def test_fingerprint_header_is_frame_bytes_reversed() -> None:
    """The fingerprint header is the big-endian hex of the little-endian bytes 2..10 of a frame."""
    encoder = make_encoder(dead_letter_schema())
    header = dict(encoder.headers())["avro.schema.fingerprint"]
    frame = encoder.encode(
        {
            "mailbox": "m",
            "uid": 1,
            "uidvalidity": 1,
            "error": "e",
            "size": 0,
            "raw": b"",
            "failed_at": 0,
        }
    )
    assert header == frame[2:10][::-1].hex().encode()
    assert int(header, 16) == int.from_bytes(frame[2:10], "little")


def test_headers_refuse_inconsistent_arguments() -> None:
    """kafka_headers wants a schema id exactly when the format is Confluent."""
    with pytest.raises(ValueError, match="exactly"):
        kafka_headers(dead_letter_schema(), WireFormat.CONFLUENT)
    with pytest.raises(ValueError, match="exactly"):
        kafka_headers(dead_letter_schema(), WireFormat.SINGLE_OBJECT, 1)


def test_headers_are_a_fresh_list_each_time() -> None:
    """A caller appending to the returned headers does not change the next record's headers."""
    encoder = make_encoder(dead_letter_schema())
    encoder.headers().append(("x", b"y"))
    assert ("x", b"y") not in encoder.headers()


def test_wire_format_sniffing() -> None:
    """The first bytes tell the format; anything else is UnknownMagicError."""
    assert wire_format_of(b"\xc3\x01rest") is WireFormat.SINGLE_OBJECT
    assert wire_format_of(b"\x00rest") is WireFormat.CONFLUENT
    with pytest.raises(UnknownMagicError):
        wire_format_of(b"{}")


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"\xc3\x02" + bytes(8), b'{"json": true}', b"\x01\x00\x00\x00\x01"],
)
def test_garbage_raises_unknown_magic(data: bytes) -> None:
    """Bytes starting with neither magic raise UnknownMagicError (a DecodeError)."""
    with pytest.raises(UnknownMagicError):
        Decoder().decode(data)


def test_unknown_fingerprint_is_typed() -> None:
    """A frame with an unknown fingerprint raises UnknownFingerprintError naming it big-endian."""
    data = b"\xc3\x01" + struct.pack("<Q", 0x1234) + b"\x00"
    with pytest.raises(UnknownFingerprintError) as info:
        Decoder().decode(data)
    assert info.value.fingerprint == 0x1234
    assert "0000000000001234" in str(info.value)  # displayed big-endian, like Java


def test_unknown_schema_id_is_typed() -> None:
    """A Confluent frame with an id the decoder was not given raises UnknownSchemaIdError."""
    with pytest.raises(UnknownSchemaIdError) as info:
        Decoder().decode(b"\x00\x00\x00\x00\x63\x00")
    assert info.value.schema_id == 99


@pytest.mark.parametrize("data", [b"\xc3\x01\x00\x00", b"\x00\x00\x01"])
def test_short_header_raises_decode_error(data: bytes) -> None:
    """A frame shorter than its own header raises DecodeError."""
    with pytest.raises(DecodeError, match="too short"):
        Decoder().decode(data)


@pytest.mark.parametrize("schema_id", FORMATS)
def test_truncated_body_raises_decode_error(
    schema_id: int | None, sample_records: dict[str, dict[str, Any]]
) -> None:
    """A body cut short raises DecodeError, not a fastavro or EOF error."""
    schema = bounce_event_schema()
    data = make_encoder(schema, schema_id).encode(sample_records["bounce_event"])
    with pytest.raises(DecodeError, match="corrupt"):
        _decoder_for(schema_id, schema).decode(data[:-30])


def test_trailing_bytes_raise_decode_error(sample_records: dict[str, dict[str, Any]]) -> None:
    """Bytes left over after the record raise DecodeError: the frame is not what it claims."""
    data = make_encoder(dead_letter_schema()).encode(sample_records["dead_letter"])
    with pytest.raises(DecodeError, match="trailing"):
        Decoder().decode(data + b"\x00")


def test_decode_errors_share_a_base() -> None:
    """Every decoding failure is a DecodeError and an EncodingError."""
    for cls in (UnknownMagicError, UnknownFingerprintError, UnknownSchemaIdError):
        assert issubclass(cls, DecodeError)
    assert issubclass(DecodeError, EncodingError)
    assert issubclass(RecordEncodeError, EncodingError)


def test_encode_refuses_unknown_field(sample_records: dict[str, dict[str, Any]]) -> None:
    """A record with a key the schema does not have raises RecordEncodeError."""
    record = dict(sample_records["mailbox_checkpoint"], typo_field=1)
    with pytest.raises(RecordEncodeError, match="MailboxCheckpoint"):
        make_encoder(mailbox_checkpoint_schema()).encode(record)


def test_encode_refuses_missing_required_field(sample_records: dict[str, dict[str, Any]]) -> None:
    """A record without a field that has no default (offline event, no mailbox) is refused."""
    record = dict(sample_records["bounce_event"])
    del record["mailbox"]
    with pytest.raises(RecordEncodeError):
        make_encoder(bounce_event_schema()).encode(record)


def test_encode_fills_defaults(sample_records: dict[str, dict[str, Any]]) -> None:
    """Fields with defaults may be left out; they decode as their defaults."""
    record = dict(sample_records["mailbox_checkpoint"])
    del record["messages"], record["instance"]
    decoded = Decoder().decode(make_encoder(mailbox_checkpoint_schema()).encode(record))
    assert decoded["messages"] == 0
    assert decoded["instance"] == ""


def test_encode_error_message_is_bounded(sample_records: dict[str, dict[str, Any]]) -> None:
    """A huge bad value is not copied whole into the error message."""
    record = dict(sample_records["dead_letter"], size="x" * 100_000)
    with pytest.raises(RecordEncodeError) as info:
        make_encoder(dead_letter_schema()).encode(record)
    assert len(str(info.value)) < 400


def test_reader_schema_rejects_other_record(sample_records: dict[str, dict[str, Any]]) -> None:
    """A decoder for one record type refuses frames of another with SchemaMismatchError."""
    data = make_encoder(dead_letter_schema()).encode(sample_records["dead_letter"])
    with pytest.raises(SchemaMismatchError):
        Decoder(reader=bounce_event_schema()).decode(data)


def _older_checkpoint_schema() -> AvroSchema:
    definition = copy.deepcopy(dict(mailbox_checkpoint_schema().definition))
    definition["fields"] = [f for f in definition["fields"] if f["name"] != "instance"]
    return AvroSchema.from_json("older", json.dumps(definition))


def test_reader_schema_resolves_older_writer() -> None:
    """Records written with an older schema (fewer fields) decode with the reader's defaults."""
    older = _older_checkpoint_schema()
    record = {"mailbox": "m", "uidvalidity": 1, "last_uid": 2, "committed_at": 0, "messages": 3}
    data = make_encoder(older).encode(record)
    decoder = Decoder(known=[older], reader=mailbox_checkpoint_schema())
    decoded = decoder.decode(data)
    assert decoded["instance"] == ""
    assert decoded["messages"] == 3


class _StubSource:
    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: list[int] = []

    async def get_schema(self, schema_id: int) -> str:
        self.calls.append(schema_id)
        return self.text


async def test_decode_fetching_resolves_unknown_id_once(
    sample_records: dict[str, dict[str, Any]],
) -> None:
    """An unknown Confluent id is fetched from the source once, then served from memory."""
    schema = dead_letter_schema()
    data = make_encoder(schema, 5).encode(sample_records["dead_letter"])
    source = _StubSource(schema.to_json())
    decoder = Decoder()
    assert await decoder.decode_fetching(data, source) == sample_records["dead_letter"]
    assert await decoder.decode_fetching(data, source) == sample_records["dead_letter"]
    assert source.calls == [5]


def test_encoder_repr_names_schema() -> None:
    """Encoders describe themselves by record name and fingerprint or id."""
    schema = dead_letter_schema()
    assert schema.fingerprint_hex in repr(make_encoder(schema))
    assert "id=3" in repr(make_encoder(schema, 3))
