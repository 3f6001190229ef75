"""The Avro schemas: where they come from, their identity, and the facts they share with code."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from bounce_stream.detection import Action, Bounce, BounceType, ParseResult, Reason
from bounce_stream.encoding import schemas as schemas_module
from bounce_stream.encoding.schemas import (
    SCHEMA_NAMES,
    AvroSchema,
    SchemaLoadError,
    SchemaName,
    all_schemas,
    bounce_event_schema,
    crc64_avro_of,
    dead_letter_schema,
    fingerprint_display,
    get_schema,
    load_schema,
    mailbox_checkpoint_schema,
)
from bounce_stream.events import SOURCE_FIELDS, Source, event_record

REPO_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"

# --- CRC-64-AVRO, written out from the Avro specification ("Schema Fingerprints"). ---
_EMPTY64 = 0xC15D213AA4D7A795


def _fp_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp)
    return table


_FP_TABLE = _fp_table()


def reference_fingerprint64(data: bytes) -> int:
    fp = _EMPTY64
    for byte in data:
        fp = (fp >> 8) ^ _FP_TABLE[(fp ^ byte) & 0xFF]
    return fp


# --- The schema-evolution pin. ---
# Fields of the first released version of each schema. Only these may lack a default: a
# reader with a newer schema must be able to read records written before a field existed.
V1_FIELDS: dict[str, tuple[str, ...]] = {
    "bounce_event": (
        "event_id",
        "detected_at",
        "mailbox",
        "uid",
        "uidvalidity",
        "bounce_message_id",
        "recipient",
        "action",
        "status",
        "reply_code",
        "diagnostic_code",
        "diagnostic_type",
        "reason",
        "hard_bounce",
        "bounce_type",
        "remote_mta",
        "reporting_mta",
        "smtp_command",
        "feedback_type",
        "arrival_date",
        "original_message_id",
        "tracking_id",
        "envelope_id",
        "verp_recipient",
        "original_sender",
        "original_subject",
        "detected_by",
    ),
    "mailbox_checkpoint": (
        "mailbox",
        "uidvalidity",
        "last_uid",
        "committed_at",
        "messages",
        "instance",
    ),
    "dead_letter": (
        "mailbox",
        "uid",
        "uidvalidity",
        "error",
        "size",
        "raw",
        "truncated",
        "failed_at",
    ),
}


# Fields added since the first release, in schema order: each must have a default.
ADDED_FIELDS: dict[str, tuple[str, ...]] = {
    "bounce_event": ("extracted_headers",),
    "mailbox_checkpoint": (),
    "dead_letter": (),
}


def fields_added_without_default(
    definition: dict[str, Any], v1_fields: tuple[str, ...]
) -> list[str]:
    return [
        f["name"] for f in definition["fields"] if f["name"] not in v1_fields and "default" not in f
    ]


def _enum_symbols(schema: AvroSchema, field_name: str) -> list[str]:
    for f in schema.definition["fields"]:
        if f["name"] == field_name:
            types = f["type"] if isinstance(f["type"], list) else [f["type"]]
            return next(t["symbols"] for t in types if isinstance(t, dict))
    raise AssertionError(field_name)


def test_reference_fingerprint_matches_avro_spec_test_vectors() -> None:
    """The in-test CRC-64-AVRO gives the Avro project's published fingerprints for primitives."""
    # From Apache Avro share/test/data/schema-tests.txt, as signed Java longs.
    vectors = {'"null"': 7195948357588979594, '"boolean"': -6970731678124411036}
    for canonical, java_long in vectors.items():
        assert reference_fingerprint64(canonical.encode()) == java_long % 2**64


def test_fingerprint_display_is_javas_hex_of_the_spec_vector() -> None:
    """The displayed fingerprint of "null" is Java's Long.toHexString of the spec's long."""
    # schema-tests.txt gives 7195948357588979594 for "null"; Java prints it as 63dd24e7cc258f8a.
    assert fingerprint_display(crc64_avro_of('"null"')) == format(7195948357588979594, "016x")
    assert fingerprint_display(crc64_avro_of('"null"')) == "63dd24e7cc258f8a"
    # A negative Java long prints as its two's complement, which is the unsigned value.
    assert fingerprint_display(crc64_avro_of('"boolean"')) == format(
        -6970731678124411036 % 2**64, "016x"
    )


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fingerprint_hex_is_the_wire_bytes_reversed(name: SchemaName) -> None:
    """A schema's fingerprint_hex is big-endian: its bytes are the single-object bytes reversed."""
    schema = get_schema(name)
    assert bytes.fromhex(schema.fingerprint_hex) == schema.fingerprint_bytes[::-1]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fingerprint_equals_reference_implementation(name: SchemaName) -> None:
    """Each schema's fingerprint is CRC-64-AVRO of its canonical form, computed independently."""
    schema = get_schema(name)
    expected = reference_fingerprint64(schema.canonical_form.encode())
    assert schema.fingerprint == expected
    assert schema.fingerprint_bytes == expected.to_bytes(8, "little")
    assert crc64_avro_of(schema.canonical_form) == expected


def test_canonical_form_strips_docs_defaults_and_logical_types() -> None:
    """The Parsing Canonical Form keeps only what decoding needs, in the spec's order."""
    assert dead_letter_schema().canonical_form == (
        '{"name":"io.bouncestream.DeadLetter","type":"record","fields":['
        '{"name":"mailbox","type":"string"},{"name":"uid","type":"long"},'
        '{"name":"uidvalidity","type":"long"},{"name":"error","type":"string"},'
        '{"name":"size","type":"long"},{"name":"raw","type":"bytes"},'
        '{"name":"truncated","type":"boolean"},{"name":"failed_at","type":"long"}]}'
    )


def test_accessors_return_the_three_named_records() -> None:
    """The typed accessors load the three schema files under their full record names."""
    assert bounce_event_schema().full_name == "io.bouncestream.BounceEvent"
    assert mailbox_checkpoint_schema().full_name == "io.bouncestream.MailboxCheckpoint"
    assert dead_letter_schema().full_name == "io.bouncestream.DeadLetter"
    assert [s.name for s in all_schemas()] == list(SCHEMA_NAMES)


def test_fingerprints_are_distinct() -> None:
    """No two schemas share a fingerprint, so single-object frames identify their schema."""
    assert len({s.fingerprint for s in all_schemas()}) == len(SCHEMA_NAMES)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_loaded_schema_is_the_top_level_file(name: SchemaName) -> None:
    """In a checkout the schemas come from the top-level schemas/ directory, unchanged."""
    on_disk = json.loads((REPO_SCHEMAS / f"{name}.avsc").read_text(encoding="utf-8"))
    assert get_schema(name).definition == on_disk


def test_packaged_copy_is_preferred_over_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bounce_stream/schemas/ directory (the wheel layout) wins over <repo>/schemas/."""
    package = tmp_path / "repo" / "bounce_stream"
    (package / "schemas").mkdir(parents=True)
    (tmp_path / "repo" / "schemas").mkdir()
    (package / "schemas" / "bounce_event.avsc").write_text("{}", encoding="utf-8")
    (tmp_path / "repo" / "schemas" / "bounce_event.avsc").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(schemas_module, "_PACKAGE_DIR", package)
    assert schemas_module.schema_dir() == package / "schemas"


def test_checkout_directory_is_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a packaged copy the <repo>/schemas/ directory is used."""
    package = tmp_path / "repo" / "bounce_stream"
    package.mkdir(parents=True)
    (tmp_path / "repo" / "schemas").mkdir()
    (tmp_path / "repo" / "schemas" / "bounce_event.avsc").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(schemas_module, "_PACKAGE_DIR", package)
    assert schemas_module.schema_dir() == tmp_path / "repo" / "schemas"


def test_missing_schema_directory_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With neither location present, loading raises SchemaLoadError naming both places."""
    monkeypatch.setattr(schemas_module, "_PACKAGE_DIR", tmp_path / "bounce_stream")
    with pytest.raises(SchemaLoadError, match="not found"):
        schemas_module.schema_dir()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '"string"',
        '{"type": "record", "name": "X"}',
        '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nosuchtype"}]}',
    ],
)
def test_invalid_schema_file_is_a_typed_error(tmp_path: Path, text: str) -> None:
    """A file that is not an Avro record schema raises SchemaLoadError, not a fastavro error."""
    (tmp_path / "dead_letter.avsc").write_text(text, encoding="utf-8")
    with pytest.raises(SchemaLoadError, match="dead_letter"):
        load_schema("dead_letter", tmp_path)


def test_missing_schema_file_is_a_typed_error(tmp_path: Path) -> None:
    """An unreadable schema file raises SchemaLoadError naming the path."""
    with pytest.raises(SchemaLoadError, match="cannot read"):
        load_schema("bounce_event", tmp_path)


@pytest.mark.parametrize(
    ("field_name", "python_enum"),
    [("reason", Reason), ("action", Action), ("bounce_type", BounceType)],
)
def test_enum_symbols_equal_python_enums(field_name: str, python_enum: type[Any]) -> None:
    """The schema's enum symbols are the Python enum's values, in the same order (Avro index)."""
    assert _enum_symbols(bounce_event_schema(), field_name) == [m.value for m in python_enum]


def _sample_result() -> tuple[ParseResult, Bounce]:
    bounce = Bounce(recipient="Alice@Example.org", reason=Reason.USERUNKNOWN, detected_by="rfc3464")
    return ParseResult(bounces=(bounce,), fingerprint="<abc@mx>"), bounce


def test_event_record_fields_equal_schema_fields() -> None:
    """event_record with a source produces exactly the schema's fields, and no others."""
    result, bounce = _sample_result()
    source = Source("imap://u@h:993/INBOX", 7, 42, datetime(2026, 1, 1, tzinfo=UTC))
    assert set(event_record(result, bounce, source)) == set(bounce_event_schema().field_names)


def test_event_record_without_source_lacks_only_source_fields() -> None:
    """Offline records carry every schema field except detected_at/mailbox/uid/uidvalidity."""
    result, bounce = _sample_result()
    expected = set(bounce_event_schema().field_names) - set(SOURCE_FIELDS)
    assert set(event_record(result, bounce, None)) == expected
    assert set(SOURCE_FIELDS) <= set(bounce_event_schema().field_names)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_field_list_is_pinned(name: SchemaName) -> None:
    """The current field list is the pinned one: a new field must be added to the pin knowingly."""
    assert get_schema(name).field_names == V1_FIELDS[name] + ADDED_FIELDS[name]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_fields_after_v1_have_defaults(name: SchemaName) -> None:
    """Every field that is not in the first release has a default (Avro evolution rule)."""
    definition = dict(get_schema(name).definition)
    assert fields_added_without_default(definition, V1_FIELDS[name]) == []


def test_evolution_check_catches_field_without_default() -> None:
    """Adding a field without a default is flagged, and indeed breaks reading older records."""
    current = copy.deepcopy(dict(mailbox_checkpoint_schema().definition))
    evolved = copy.deepcopy(current)
    evolved["fields"].append({"name": "shard", "type": "int"})
    assert fields_added_without_default(evolved, V1_FIELDS["mailbox_checkpoint"]) == ["shard"]

    old = {"mailbox": "m", "uidvalidity": 1, "last_uid": 2, "committed_at": 0}
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(current), old)
    buf.seek(0)
    with pytest.raises(Exception, match="shard"):
        schemaless_reader(buf, parse_schema(current), parse_schema(evolved))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_current_schema_reads_records_written_with_v1_fields(
    name: SchemaName, sample_records: dict[str, dict[str, Any]]
) -> None:
    """A record written with only the v1 fields resolves against the current schema."""
    current = dict(get_schema(name).definition)
    v1 = dict(current, fields=[f for f in current["fields"] if f["name"] in V1_FIELDS[name]])
    record = {k: v for k, v in sample_records[name].items() if k in V1_FIELDS[name]}
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(copy.deepcopy(v1), named_schemas={}), record)
    buf.seek(0)
    reader = parse_schema(copy.deepcopy(current), named_schemas={})
    writer = parse_schema(copy.deepcopy(v1), named_schemas={})
    decoded = schemaless_reader(buf, writer, reader)
    assert isinstance(decoded, dict)
    assert set(decoded) == set(get_schema(name).field_names)
