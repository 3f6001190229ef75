"""The shipped schema history (``schemas/history/<name>/<fingerprint>.avsc``).

Every version a build of bounce-stream has written must stay readable: a reader meets it in
single-object frames by fingerprint only. These tests make a schema change that does not add
its history file fail, and check that each historic version resolves to the current reader.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from bounce_stream.consumer import RecordDecoder
from bounce_stream.encoding import Decoder, make_encoder
from bounce_stream.encoding.registry import SchemaRegistryClient
from bounce_stream.encoding.schemas import (
    ALL_SCHEMA_FILES,
    AvroSchema,
    SchemaLoadError,
    history,
    load_history,
    load_schema,
    schema_dir,
)
from bounce_stream.suppression import codec
from bounce_stream.suppression.policy import Change, CountedEvent, RecipientState

if TYPE_CHECKING:
    from conftest import FakeRegistry

WHEN = datetime(2026, 11, 25, 20, 0, 1, 123000, tzinfo=UTC)


def _current(name: str) -> AvroSchema:
    if name == "recipient_state":
        return codec.recipient_state_schema()
    if name == "suppression_changed":
        return codec.suppression_changed_schema()
    return load_schema(name)  # type: ignore[arg-type]  # one of run's three


@pytest.fixture
def samples(sample_records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A fully populated record of the current version of each of the five schemas."""
    state = RecipientState(
        recipient="alice@example.com",
        window=(CountedEvent("e1", "soft", WHEN), CountedEvent("e2", "hard", WHEN)),
        last_reason="userunknown",
        last_event_id="e2",
        suppressed_since=WHEN,
        updated_at=WHEN,
    )
    change = Change("alice@example.com", "suppressed", "hard_bounce", ("e2",), WHEN)
    return {
        **sample_records,
        "recipient_state": codec.state_to_record(state),
        "suppression_changed": codec.change_to_record(change),
    }


def _client(registry: FakeRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        registry.url,
        username=registry.username,
        password=SecretStr(registry.password),
        timeout_seconds=5,
    )


def _as_written_by(version: AvroSchema, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` cut to the fields ``version`` has (what a build of that version wrote)."""
    return {k: v for k, v in record.items() if k in version.field_names}


@pytest.mark.parametrize("name", ALL_SCHEMA_FILES)
def test_current_schema_is_in_the_history(name: str) -> None:
    """Each schema's current fingerprint has its file in schemas/history/<name>/."""
    fingerprints = {s.fingerprint for s in history(name)}
    assert _current(name).fingerprint in fingerprints, (
        f"schemas/{name}.avsc changed: copy it to "
        f"schemas/history/{name}/{_current(name).fingerprint_hex}.avsc"
    )


@pytest.mark.parametrize("name", ALL_SCHEMA_FILES)
def test_every_historic_version_resolves_to_the_current_reader(
    name: str, samples: dict[str, dict[str, Any]]
) -> None:
    """A record written with any historic version reads with the current schema as reader:
    shared fields unchanged, fields the version lacks at their defaults."""
    current = _current(name)
    defaults = {f["name"]: f["default"] for f in current.definition["fields"] if "default" in f}
    for version in history(name):
        written = _as_written_by(version, samples[name])
        data = make_encoder(version).encode(written)
        decoded = Decoder(known=[version], reader=current).decode(data)
        assert set(decoded) == set(current.field_names), version.fingerprint_hex
        for field in current.field_names:
            expected = written[field] if field in written else defaults[field]
            assert decoded[field] == expected, (version.fingerprint_hex, field)


def test_history_holds_the_version_before_extracted_headers() -> None:
    """The BounceEvent without extracted_headers (the first builds' writer) is in the history."""
    field_sets = [set(v.field_names) for v in history("bounce_event")]
    current = set(load_schema("bounce_event").field_names)
    assert current - {"extracted_headers"} in field_sets


def test_consumers_read_events_of_the_first_version(sample_records: dict[str, Any]) -> None:
    """RecordDecoder (consume, suppress) reads a first-version event, without being told of it."""
    (oldest,) = [v for v in history("bounce_event") if "extracted_headers" not in v.field_names]
    encoder = make_encoder(oldest)
    data = encoder.encode(_as_written_by(oldest, sample_records["bounce_event"]))
    decoded = RecordDecoder().decode(data, encoder.headers())
    assert decoded["extracted_headers"] == {}
    assert decoded["recipient"] == sample_records["bounce_event"]["recipient"]


def test_suppress_state_decoder_knows_every_recipient_state_version(
    samples: dict[str, dict[str, Any]],
) -> None:
    """suppress reads back RecipientState records of every historic version from its topic."""
    decoder = codec.state_decoder()
    for version in history("recipient_state"):
        data = make_encoder(version).encode(_as_written_by(version, samples["recipient_state"]))
        assert decoder.decode(data)["recipient"] == "alice@example.com"


def test_history_file_named_after_another_fingerprint_is_refused(tmp_path: Path) -> None:
    """A history file whose name is not its own fingerprint fails to load, naming the right one."""
    current = load_schema("mailbox_checkpoint")
    folder = tmp_path / "history" / "mailbox_checkpoint"
    folder.mkdir(parents=True)
    (folder / "0000000000000000.avsc").write_text(current.to_json(), encoding="utf-8")
    with pytest.raises(SchemaLoadError, match=current.fingerprint_hex):
        load_history("mailbox_checkpoint", tmp_path)


def test_history_loads_every_file_of_the_folder(tmp_path: Path) -> None:
    """load_history returns one schema per correctly named file."""
    current = load_schema("mailbox_checkpoint")
    older = dict(current.definition)
    older["fields"] = [f for f in current.definition["fields"] if f["name"] != "instance"]
    old = AvroSchema.from_json("mailbox_checkpoint", json.dumps(older))
    folder = tmp_path / "history" / "mailbox_checkpoint"
    folder.mkdir(parents=True)
    for schema in (current, old):
        (folder / f"{schema.fingerprint_hex}.avsc").write_text(schema.to_json(), encoding="utf-8")
    loaded = load_history("mailbox_checkpoint", tmp_path)
    assert {s.fingerprint for s in loaded} == {current.fingerprint, old.fingerprint}
    assert (schema_dir() / "history" / "mailbox_checkpoint").is_dir()


async def test_confluent_frames_of_an_older_version_resolve_through_the_registry(
    fake_registry: FakeRegistry, sample_records: dict[str, Any]
) -> None:
    """A Confluent-framed first-version event is read by RecordDecoder (consume, suppress) with
    its writer schema fetched by id and resolved to the current reader."""
    (oldest,) = [v for v in history("bounce_event") if "extracted_headers" not in v.field_names]
    schema_id = await _client(fake_registry).register("events-value", oldest)
    encoder = make_encoder(oldest, schema_id)
    data = encoder.encode(_as_written_by(oldest, sample_records["bounce_event"]))
    decoder = RecordDecoder(registry=_client(fake_registry))  # nothing added by hand
    decoded = await decoder.decode_async(data, encoder.headers())
    assert set(decoded) == set(load_schema("bounce_event").field_names)
    assert decoded["extracted_headers"] == {}
    assert decoded["status"] == sample_records["bounce_event"]["status"]
