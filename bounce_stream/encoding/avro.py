"""Avro records to framed bytes and back, in either wire format. Pure.

Two framings, chosen per producer and announced in Kafka headers (:func:`kafka_headers`):

* **single-object** (Avro spec): ``C3 01`` + 8-byte little-endian CRC-64-AVRO fingerprint of
  the writer schema + Avro binary body. The default: needs no registry.
* **confluent**: ``00`` + 4-byte big-endian Schema Registry id + Avro binary body.

:class:`Decoder` accepts both, whatever the headers say: the first bytes decide.

Kafka headers written with every record (ASCII names, UTF-8 values), see :func:`kafka_headers`:

* ``content-type``: ``application/vnd.apache.avro+binary; format=single-object`` or
  ``application/vnd.apache.avro+binary; format=confluent``.
* ``avro.schema.name``: the writer's full record name, e.g. ``io.bouncestream.BounceEvent``.
* ``avro.schema.fingerprint``: CRC-64-AVRO of the writer schema as 16 lower-case hex digits
  of the 64-bit number, most significant first (Java's ``parsingFingerprint64`` printed in
  hex; :attr:`AvroSchema.fingerprint_hex`). Bytes 2..10 of a single-object frame hold the
  same number little-endian, i.e. these bytes reversed. Sent in both formats.
* ``avro.schema.id``: the registry id in decimal. Confluent format only.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, Protocol

from fastavro import schemaless_reader, schemaless_writer

from bounce_stream.encoding.schemas import (
    SCHEMA_NAMES,
    AvroSchema,
    all_schemas,
    fingerprint_display,
    known_writers,
)

SINGLE_OBJECT_MAGIC: Final = b"\xc3\x01"
CONFLUENT_MAGIC: Final = b"\x00"
_SINGLE_OBJECT_HEADER = struct.Struct("<2sQ")
_CONFLUENT_HEADER = struct.Struct(">cI")

CONTENT_TYPE_HEADER: Final = "content-type"
SCHEMA_NAME_HEADER: Final = "avro.schema.name"
FINGERPRINT_HEADER: Final = "avro.schema.fingerprint"
SCHEMA_ID_HEADER: Final = "avro.schema.id"
_MEDIA_TYPE = "application/vnd.apache.avro+binary"

# fastavro error messages may quote the offending value (a dead letter holds a whole message).
_MAX_ERROR_DETAIL = 200


class WireFormat(StrEnum):
    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"

    @property
    def content_type(self) -> str:
        return f"{_MEDIA_TYPE}; format={self.value}"


class EncodingError(Exception):
    """Base of every error raised by this module."""


class RecordEncodeError(EncodingError):
    """A record does not fit its schema (missing, extra or mistyped field)."""


class DecodeError(EncodingError):
    """Bytes that are not a readable Avro frame."""


class UnknownMagicError(DecodeError):
    """The frame starts with neither ``C3 01`` (single-object) nor ``00`` (confluent)."""


class UnknownFingerprintError(DecodeError):
    """A single-object frame names a writer schema this process does not know."""

    def __init__(self, fingerprint: int) -> None:
        self.fingerprint = fingerprint
        shown = fingerprint_display(fingerprint)
        super().__init__(f"unknown writer schema fingerprint {shown} (CRC-64-AVRO)")


class UnknownSchemaIdError(DecodeError):
    """A confluent frame names a registry schema id this decoder has not been given."""

    def __init__(self, schema_id: int) -> None:
        self.schema_id = schema_id
        super().__init__(f"unknown writer schema id {schema_id}")


class SchemaMismatchError(DecodeError):
    """The writer schema cannot be resolved against the decoder's reader schema."""


class SchemaResolutionError(DecodeError):
    """A well-formed record of a known writer schema that Avro schema resolution cannot turn
    into the reader schema (e.g. an enum symbol the reader lacks, with no enum default)."""

    def __init__(self, writer: AvroSchema, reader: AvroSchema, detail: str) -> None:
        self.writer_fingerprint = writer.fingerprint
        self.reader_fingerprint = reader.fingerprint
        super().__init__(
            f"{writer.full_name} record of writer schema {fingerprint_display(writer.fingerprint)}"
            f" cannot be resolved to reader schema {fingerprint_display(reader.fingerprint)}: "
            f"{detail}"
        )


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > _MAX_ERROR_DETAIL:
        return text[:_MAX_ERROR_DETAIL] + "..."
    return text


def _write_body(schema: AvroSchema, record: Mapping[str, Any]) -> bytes:
    out = io.BytesIO()
    try:
        # Unknown keys are an error; absent keys take their defaults (fastavro wants strict off
        # for the latter, strict_allow_default still refuses extra keys).
        schemaless_writer(out, schema.parsed, dict(record), strict=False, strict_allow_default=True)
    except Exception as exc:  # fastavro raises ValueError, TypeError, KeyError, ...
        raise RecordEncodeError(f"record does not fit {schema.full_name}: {_short(exc)}") from None
    return out.getvalue()


class Encoder(Protocol):
    """Turns records of one schema into framed bytes, and says how in Kafka headers."""

    @property
    def schema(self) -> AvroSchema: ...

    @property
    def wire_format(self) -> WireFormat: ...

    def encode(self, record: Mapping[str, Any]) -> bytes: ...

    def headers(self) -> list[tuple[str, bytes]]: ...


class SingleObjectEncoder:
    """Avro single-object encoding: ``C3 01`` + fingerprint + body."""

    wire_format: Final = WireFormat.SINGLE_OBJECT

    def __init__(self, schema: AvroSchema) -> None:
        self._schema = schema
        self._prefix = _SINGLE_OBJECT_HEADER.pack(SINGLE_OBJECT_MAGIC, schema.fingerprint)
        self._headers = kafka_headers(schema, WireFormat.SINGLE_OBJECT)

    @property
    def schema(self) -> AvroSchema:
        return self._schema

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._prefix + _write_body(self._schema, record)

    def headers(self) -> list[tuple[str, bytes]]:
        return list(self._headers)

    def __repr__(self) -> str:
        return f"SingleObjectEncoder({self._schema.full_name}, {self._schema.fingerprint_hex})"


class ConfluentEncoder:
    """Confluent framing: ``00`` + 4-byte big-endian registry id + body."""

    wire_format: Final = WireFormat.CONFLUENT

    def __init__(self, schema: AvroSchema, schema_id: int) -> None:
        if not 0 <= schema_id <= 0xFFFFFFFF:
            raise ValueError(f"schema id {schema_id} does not fit in 4 bytes")
        self._schema = schema
        self._schema_id = schema_id
        self._prefix = _CONFLUENT_HEADER.pack(CONFLUENT_MAGIC, schema_id)
        self._headers = kafka_headers(schema, WireFormat.CONFLUENT, schema_id)

    @property
    def schema(self) -> AvroSchema:
        return self._schema

    @property
    def schema_id(self) -> int:
        return self._schema_id

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._prefix + _write_body(self._schema, record)

    def headers(self) -> list[tuple[str, bytes]]:
        return list(self._headers)

    def __repr__(self) -> str:
        return f"ConfluentEncoder({self._schema.full_name}, id={self._schema_id})"


def make_encoder(schema: AvroSchema, schema_id: int | None = None) -> Encoder:
    """Confluent framing when a registry id is known, single-object encoding otherwise."""
    if schema_id is None:
        return SingleObjectEncoder(schema)
    return ConfluentEncoder(schema, schema_id)


def kafka_headers(
    schema: AvroSchema, wire_format: WireFormat, schema_id: int | None = None
) -> list[tuple[str, bytes]]:
    """The Kafka headers that announce ``wire_format`` and the writer schema."""
    if (wire_format is WireFormat.CONFLUENT) != (schema_id is not None):
        raise ValueError("a schema id is given exactly when the format is confluent")
    headers = [
        (CONTENT_TYPE_HEADER, wire_format.content_type.encode()),
        (SCHEMA_NAME_HEADER, schema.full_name.encode()),
        (FINGERPRINT_HEADER, schema.fingerprint_hex.encode()),
    ]
    if schema_id is not None:
        headers.append((SCHEMA_ID_HEADER, str(schema_id).encode()))
    return headers


def wire_format_of(data: bytes) -> WireFormat:
    """The framing of ``data``, from its first bytes. Raises :class:`UnknownMagicError`."""
    if data.startswith(SINGLE_OBJECT_MAGIC):
        return WireFormat.SINGLE_OBJECT
    if data.startswith(CONFLUENT_MAGIC):
        return WireFormat.CONFLUENT
    raise UnknownMagicError(f"not an Avro frame: starts with {data[:2].hex() or 'nothing'}")


class SchemaSource(Protocol):
    """Where writer schemas named by registry id come from (the registry client)."""

    async def get_schema(self, schema_id: int) -> str: ...


def _is_record_of(writer: AvroSchema, body: memoryview) -> bool:
    """Whether ``body`` is exactly one well-formed record of ``writer`` (read as written)."""
    stream = io.BytesIO(body)
    try:
        record = schemaless_reader(stream, writer.parsed, None)
    except Exception:  # any failure means corrupt bytes, which is the answer
        return False
    return isinstance(record, dict) and stream.tell() == len(body)


class Decoder:
    """Framed bytes in either format back to records.

    Writer schemas are found by fingerprint among ``known`` (default: every released version
    of ``run``'s three schemas, ``schemas/history/``) or
    by registry id among those added with :meth:`add_schema_id` (or fetched by
    :meth:`decode_fetching`). With a ``reader`` schema, records are resolved to it (Avro
    schema evolution); with ``readers``, to the one with the writer's full name; without
    either, they come out as written.
    """

    def __init__(
        self,
        known: Iterable[AvroSchema] | None = None,
        reader: AvroSchema | None = None,
        *,
        readers: Iterable[AvroSchema] | None = None,
    ) -> None:
        schemas = (*known_writers(SCHEMA_NAMES), *all_schemas()) if known is None else tuple(known)
        self._by_fingerprint = {s.fingerprint: s for s in schemas}
        self._by_id: dict[int, AvroSchema] = {}
        if reader is not None and readers is not None:
            raise ValueError("give one reader schema or a set of readers, not both")
        self._reader = reader
        # With ``readers``: each record is resolved to the reader of its writer's full name.
        self._readers = None if readers is None else {s.full_name: s for s in readers}

    def add_schema_id(self, schema_id: int, schema: AvroSchema) -> None:
        """Make registry id ``schema_id`` decodable as ``schema``."""
        self._by_id[schema_id] = schema

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record in ``data``. Raises a :class:`DecodeError` subclass."""
        writer, body = self._writer_and_body(data)
        return self._read_body(writer, body)

    async def decode_fetching(self, data: bytes, source: SchemaSource) -> dict[str, Any]:
        """Like :meth:`decode`, fetching an unknown registry id from ``source`` once."""
        try:
            return self.decode(data)
        except UnknownSchemaIdError as exc:
            text = await source.get_schema(exc.schema_id)
            self.add_schema_id(exc.schema_id, AvroSchema.from_json(f"id {exc.schema_id}", text))
        return self.decode(data)

    def _writer_and_body(self, data: bytes) -> tuple[AvroSchema, memoryview]:
        view = memoryview(data)
        if wire_format_of(data) is WireFormat.SINGLE_OBJECT:
            if len(data) < _SINGLE_OBJECT_HEADER.size:
                raise DecodeError(f"single-object frame too short ({len(data)} bytes)")
            _, fingerprint = _SINGLE_OBJECT_HEADER.unpack_from(data)
            found = self._by_fingerprint.get(fingerprint)
            if found is None:
                raise UnknownFingerprintError(fingerprint)
            return found, view[_SINGLE_OBJECT_HEADER.size :]
        if len(data) < _CONFLUENT_HEADER.size:
            raise DecodeError(f"confluent frame too short ({len(data)} bytes)")
        _, schema_id = _CONFLUENT_HEADER.unpack_from(data)
        by_id = self._by_id.get(schema_id)
        if by_id is None:
            raise UnknownSchemaIdError(schema_id)
        return by_id, view[_CONFLUENT_HEADER.size :]

    def _read_body(self, writer: AvroSchema, body: memoryview) -> dict[str, Any]:
        reader = self._reader
        if self._readers is not None:
            reader = self._readers.get(writer.full_name)
            if reader is None:
                raise SchemaMismatchError(f"no reader schema for {writer.full_name}")
        if reader is not None and reader.full_name != writer.full_name:
            raise SchemaMismatchError(f"writer schema {writer.full_name} is not {reader.full_name}")
        stream = io.BytesIO(body)
        try:
            record = schemaless_reader(
                stream, writer.parsed, reader.parsed if reader is not None else None
            )
        except Exception as exc:  # truncated or corrupt bodies surface as many types
            if reader is not None and _is_record_of(writer, body):
                raise SchemaResolutionError(writer, reader, _short(exc)) from None
            raise DecodeError(f"corrupt {writer.full_name} body: {_short(exc)}") from None
        if stream.tell() != len(body):
            raise DecodeError(
                f"{len(body) - stream.tell()} trailing bytes after a {writer.full_name} record"
            )
        if not isinstance(record, dict):
            raise DecodeError(f"{writer.full_name} body is not a record")
        return record
