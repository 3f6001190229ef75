"""Encoding: records to Avro frames for Kafka and back.

``schemas`` and ``avro`` are pure. The Schema Registry client does network I/O and is
imported explicitly from :mod:`bounce_stream.encoding.registry`, never from here.
"""

from __future__ import annotations

from bounce_stream.encoding.avro import (
    DecodeError,
    Decoder,
    Encoder,
    EncodingError,
    RecordEncodeError,
    SchemaMismatchError,
    SchemaResolutionError,
    UnknownFingerprintError,
    UnknownMagicError,
    UnknownSchemaIdError,
    WireFormat,
    kafka_headers,
    make_encoder,
    wire_format_of,
)
from bounce_stream.encoding.schemas import (
    SCHEMA_NAMES,
    AvroSchema,
    SchemaLoadError,
    SchemaName,
    all_schemas,
    bounce_event_schema,
    dead_letter_schema,
    get_schema,
    mailbox_checkpoint_schema,
)

__all__ = [  # noqa: RUF022 - grouped by role, sorted within each group
    # schemas: the .avsc files, canonical forms, fingerprints
    "SCHEMA_NAMES",
    "AvroSchema",
    "SchemaLoadError",
    "SchemaName",
    "all_schemas",
    "bounce_event_schema",
    "dead_letter_schema",
    "get_schema",
    "mailbox_checkpoint_schema",
    # avro: framing, headers, decoding
    "Decoder",
    "Encoder",
    "WireFormat",
    "kafka_headers",
    "make_encoder",
    "wire_format_of",
    # errors: EncodingError is the base of all of them
    "DecodeError",
    "EncodingError",
    "RecordEncodeError",
    "SchemaMismatchError",
    "SchemaResolutionError",
    "UnknownFingerprintError",
    "UnknownMagicError",
    "UnknownSchemaIdError",
]
