"""Schema evolution of BounceEvent: ``extracted_headers`` was added compatibly.

The previous version of the schema is the current one without the field (nothing else
changed with it). Records written by either version are read by the other, in both framings,
as consumers on an older or newer schema will read the topic.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bounce_stream.encoding import Decoder, make_encoder
from bounce_stream.encoding.schemas import AvroSchema, bounce_event_schema

NEW_FIELD = "extracted_headers"


def _previous_version() -> AvroSchema:
    definition = copy.deepcopy(dict(bounce_event_schema().definition))
    definition["fields"] = [f for f in definition["fields"] if f["name"] != NEW_FIELD]
    return AvroSchema.from_json("bounce_event", json.dumps(definition))


def test_new_field_is_a_string_map_defaulting_to_empty() -> None:
    """extracted_headers is map<string> with default {} (what makes old records readable)."""
    (field,) = [f for f in bounce_event_schema().definition["fields"] if f["name"] == NEW_FIELD]
    assert field["type"] == {"type": "map", "values": "string"}
    assert field["default"] == {}


@pytest.mark.parametrize("schema_id", [None, 7])
def test_records_written_before_the_field_read_with_an_empty_map(
    schema_id: int | None, sample_records: dict[str, dict[str, Any]]
) -> None:
    """A new reader decodes an old record (single-object or Confluent) with extracted_headers {}."""
    old, new = _previous_version(), bounce_event_schema()
    record = {k: v for k, v in sample_records["bounce_event"].items() if k != NEW_FIELD}
    data = make_encoder(old, schema_id).encode(record)
    decoder = Decoder(known=[old, new], reader=new)
    if schema_id is not None:
        decoder.add_schema_id(schema_id, old)
    decoded = decoder.decode(data)
    assert decoded[NEW_FIELD] == {}
    assert {k: v for k, v in decoded.items() if k != NEW_FIELD} == record


@pytest.mark.parametrize("schema_id", [None, 8])
def test_records_written_with_the_field_read_by_an_old_reader(
    schema_id: int | None, sample_records: dict[str, dict[str, Any]]
) -> None:
    """An old reader decodes a new record, skipping extracted_headers and losing nothing else."""
    old, new = _previous_version(), bounce_event_schema()
    record = sample_records["bounce_event"]
    assert record[NEW_FIELD]  # a non-empty map is skipped, not just an empty one
    data = make_encoder(new, schema_id).encode(record)
    decoder = Decoder(known=[old, new], reader=old)
    if schema_id is not None:
        decoder.add_schema_id(schema_id, new)
    assert decoder.decode(data) == {k: v for k, v in record.items() if k != NEW_FIELD}
