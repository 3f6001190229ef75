"""Decoding bounce-stream's Kafka records for Python consumers. Pure (no Kafka client here).

Give it the value and headers of a record from any Kafka client::

    from bounce_stream.consumer import EventDecoder

    decoder = EventDecoder()                     # or EventDecoder(registry=client)
    event = decoder.decode(msg.value, msg.headers)   # a BounceEventRecord
    if event.hard_bounce: ...

* **Either framing**: Avro single-object (``C3 01`` + CRC-64-AVRO fingerprint) and Confluent
  (``00`` + registry id); the first bytes decide, the ``content-type`` and
  ``avro.schema.name`` headers (when present) must agree with them.
* **Schema evolution**: every record is resolved to the reader schema this package ships
  (``schemas/*.avsc``), so a record written with an older or newer writer schema comes out in
  the shape of :class:`BounceEventRecord` (fields the writer lacks take their defaults, fields
  the reader lacks are dropped). The writer schema must be known: every version this package
  has released is (``schemas/history/``), Confluent ids are fetched from ``registry``
  (:meth:`EventDecoder.decode_async`), other single-object writers are passed as
  ``writer_schemas`` (e.g. the ``.avsc`` of a newer bounce-stream); any other fingerprint is
  an :class:`~bounce_stream.encoding.UnknownFingerprintError`.

:class:`RecordDecoder` does the same for the three topics (events, checkpoints, dead letters)
as plain dicts; ``bounce-stream consume`` prints what it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bounce_stream.encoding.avro import (
    CONTENT_TYPE_HEADER,
    SCHEMA_NAME_HEADER,
    DecodeError,
    Decoder,
    SchemaMismatchError,
    SchemaSource,
    WireFormat,
    wire_format_of,
)
from bounce_stream.encoding.schemas import (
    SCHEMA_NAMES,
    AvroSchema,
    all_schemas,
    bounce_event_schema,
    known_writers,
)

__all__ = [
    "BounceEventRecord",
    "DecodeError",
    "EventDecoder",
    "RecordDecoder",
    "SchemaMismatchError",
    "WireFormat",
]

Headers = Sequence[tuple[str, bytes | None]] | Mapping[str, bytes | None]


@dataclass(frozen=True, slots=True)
class BounceEventRecord:
    """One ``io.bouncestream.BounceEvent`` as the shipped schema reads it (see its docs)."""

    event_id: str
    detected_at: datetime
    mailbox: str
    uid: int
    uidvalidity: int
    bounce_message_id: str | None
    recipient: str
    action: str | None
    status: str | None
    reply_code: str | None
    diagnostic_code: str | None
    diagnostic_type: str | None
    reason: str
    hard_bounce: bool
    bounce_type: str
    remote_mta: str | None
    reporting_mta: str | None
    smtp_command: str | None
    feedback_type: str | None
    arrival_date: datetime | None
    original_message_id: str | None
    tracking_id: str | None
    envelope_id: str | None
    verp_recipient: str | None
    original_sender: str | None
    original_subject: str | None
    detected_by: str
    extracted_headers: dict[str, str]  # correlation.extract_headers; {} from older writers

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> BounceEventRecord:
        """From a dict resolved to the shipped schema (exactly its fields)."""
        names = {f.name for f in dataclasses.fields(cls)}
        if set(record) != names:
            raise SchemaMismatchError(
                f"record fields differ from BounceEvent: {sorted(set(record) ^ names)}"
            )
        return cls(**record)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (datetimes stay datetimes)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _header(headers: Headers, name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key.lower() == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def check_headers(value: bytes, headers: Headers) -> None:
    """Refuse a record whose ``content-type`` format contradicts its first bytes."""
    content_type = _header(headers, CONTENT_TYPE_HEADER)
    if content_type is None or "format=" not in content_type:
        return
    announced = content_type.rpartition("format=")[2].split(";")[0].strip()
    actual = wire_format_of(value)
    if announced != actual.value:
        raise DecodeError(f"content-type says format={announced[:40]} but the value is {actual}")


class RecordDecoder:
    """Values of any bounce-stream topic to dicts, resolved to the shipped schema of their name.

    ``writer_schemas``: extra single-object writer schemas to recognise (e.g. a newer
    release's). ``registry``: where Confluent ids are fetched (see :meth:`decode_async`).
    """

    def __init__(
        self,
        *,
        writer_schemas: Iterable[AvroSchema] = (),
        registry: SchemaSource | None = None,
        readers: Iterable[AvroSchema] | None = None,
    ) -> None:
        shipped = all_schemas()
        self._decoder = Decoder(
            known=(*known_writers(SCHEMA_NAMES), *shipped, *writer_schemas),
            readers=shipped if readers is None else tuple(readers),
        )
        self._registry = registry

    def add_schema_id(self, schema_id: int, schema: AvroSchema) -> None:
        """Make registry id ``schema_id`` decodable without asking the registry."""
        self._decoder.add_schema_id(schema_id, schema)

    def decode(self, value: bytes, headers: Headers = ()) -> dict[str, Any]:
        """The record in ``value``. Raises :class:`DecodeError` (or a subclass)."""
        check_headers(value, headers)
        return self._decoder.decode(value)

    async def decode_async(self, value: bytes, headers: Headers = ()) -> dict[str, Any]:
        """Like :meth:`decode`, fetching an unknown Confluent id from the registry once."""
        check_headers(value, headers)
        if self._registry is None:
            return self._decoder.decode(value)
        return await self._decoder.decode_fetching(value, self._registry)


class EventDecoder:
    """Values of the events topic to :class:`BounceEventRecord`, either framing, any version."""

    def __init__(
        self,
        *,
        writer_schemas: Iterable[AvroSchema] = (),
        registry: SchemaSource | None = None,
    ) -> None:
        self._records = RecordDecoder(
            writer_schemas=writer_schemas, registry=registry, readers=(bounce_event_schema(),)
        )

    def add_schema_id(self, schema_id: int, schema: AvroSchema) -> None:
        """Make registry id ``schema_id`` decodable without asking the registry."""
        self._records.add_schema_id(schema_id, schema)

    def decode(self, value: bytes, headers: Headers = ()) -> BounceEventRecord:
        """The event in ``value``. Raises :class:`DecodeError` (or a subclass)."""
        self._check_name(headers)
        return BounceEventRecord.from_record(self._records.decode(value, headers))

    async def decode_async(self, value: bytes, headers: Headers = ()) -> BounceEventRecord:
        """Like :meth:`decode`, fetching an unknown Confluent id from the registry once."""
        self._check_name(headers)
        return BounceEventRecord.from_record(await self._records.decode_async(value, headers))

    @staticmethod
    def _check_name(headers: Headers) -> None:
        name = _header(headers, SCHEMA_NAME_HEADER)
        expected = bounce_event_schema().full_name
        if name is not None and name != expected:
            raise SchemaMismatchError(f"record is a {name[:80]}, not a {expected}")
