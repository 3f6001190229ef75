"""The Avro schemas of bounce-stream, loaded from the ``.avsc`` files that define them. Pure.

The top-level ``schemas/`` directory is the single source of truth. An installed wheel carries
it as ``bounce_stream/schemas/`` (hatch ``force-include``); a source checkout or editable
install reads ``<repo>/schemas/``. They are looked for in that order.

Each schema comes with its Parsing Canonical Form and its CRC-64-AVRO (Rabin) fingerprint,
the identity Avro single-object encoding puts on the wire.

``schemas/history/<name>/<fingerprint>.avsc`` holds every version of each schema that has been
written by a build of bounce-stream, the current one included (the file name is the
fingerprint in :func:`fingerprint_display` form): the writer schemas a reader recognises in
single-object frames (:func:`history`, :func:`known_writers`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, get_args

from fastavro import parse_schema
from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from fastavro.types import Schema

SchemaName = Literal["bounce_event", "mailbox_checkpoint", "dead_letter"]
SCHEMA_NAMES: Final[tuple[SchemaName, ...]] = get_args(SchemaName)

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


class SchemaLoadError(Exception):
    """A schema file is missing or is not a valid Avro schema."""


@dataclass(frozen=True, slots=True)
class AvroSchema:
    """One Avro schema: as written, as parsed by fastavro, canonical form and fingerprint."""

    name: str
    """The file stem (``bounce_event``) for local schemas, the full name otherwise."""
    definition: Mapping[str, Any]
    """The schema JSON as written, docs and defaults included: what a registry is sent."""
    parsed: Schema
    canonical_form: str
    fingerprint: int
    """CRC-64-AVRO of the canonical form, as an unsigned 64-bit integer."""

    @classmethod
    def from_json(cls, name: str, text: str) -> AvroSchema:
        """Parse a schema given as JSON text (a file, or a registry answer)."""
        try:
            definition = json.loads(text)
            parsed = parse_schema(copy.deepcopy(definition), named_schemas={})
            canonical = to_parsing_canonical_form(definition)
        except Exception as exc:  # fastavro raises a zoo of types for a bad schema
            raise SchemaLoadError(f"schema {name!r} is not a valid Avro schema: {exc}") from None
        if not (
            isinstance(definition, dict)
            and definition.get("type") == "record"
            and isinstance(definition.get("fields"), list)
        ):
            raise SchemaLoadError(f"schema {name!r} is not an Avro record schema")
        return cls(name, definition, parsed, canonical, crc64_avro_of(canonical))

    @property
    def full_name(self) -> str:
        """The record's namespace-qualified name, e.g. ``io.bouncestream.BounceEvent``."""
        namespace = self.definition.get("namespace")
        record_name = str(self.definition["name"])
        if namespace and "." not in record_name:
            return f"{namespace}.{record_name}"
        return record_name

    @property
    def fingerprint_bytes(self) -> bytes:
        """The 8 fingerprint bytes as single-object encoding writes them (little-endian)."""
        return self.fingerprint.to_bytes(8, "little")

    @property
    def fingerprint_hex(self) -> str:
        """The fingerprint as 16 lower-case hex digits of the 64-bit number, most significant
        first: what Java prints for ``SchemaNormalization.parsingFingerprint64`` (as an
        unsigned long) and the Avro spec's byte order. :attr:`fingerprint_bytes` (the wire) is
        the same 8 bytes reversed; every display in bounce-stream uses this form.
        """
        return fingerprint_display(self.fingerprint)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(str(f["name"]) for f in self.definition["fields"])

    def to_json(self) -> str:
        """Compact JSON of :attr:`definition`."""
        return json.dumps(self.definition, separators=(",", ":"), ensure_ascii=False)


def fingerprint_display(fingerprint: int) -> str:
    """16 lower-case hex digits of a 64-bit fingerprint, most significant first.

    Equal to Java's ``Long.toHexString(SchemaNormalization.parsingFingerprint64(schema))``
    (zero-padded). The single-object header stores the same number little-endian.
    """
    return f"{fingerprint:016x}"


def crc64_avro_of(canonical_form: str) -> int:
    """CRC-64-AVRO fingerprint of a Parsing Canonical Form, as an unsigned integer."""
    # fastavro renders the fingerprint as the hex of its little-endian bytes.
    rendered = _fastavro_fingerprint(canonical_form, "CRC-64-AVRO")
    return int.from_bytes(bytes.fromhex(rendered), "little")


def schema_dir() -> Path:
    """The directory holding the ``.avsc`` files: packaged copy first, then the checkout."""
    candidates = (_PACKAGE_DIR / "schemas", _PACKAGE_DIR.parent / "schemas")
    for directory in candidates:
        if (directory / "bounce_event.avsc").is_file():
            return directory
    looked = ", ".join(str(c) for c in candidates)
    raise SchemaLoadError(f"Avro schema files not found (looked in {looked})")


def load_schema(name: SchemaName, directory: Path | None = None) -> AvroSchema:
    """Load ``<name>.avsc`` from ``directory`` (default: :func:`schema_dir`)."""
    path = (directory or schema_dir()) / f"{name}.avsc"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaLoadError(f"cannot read schema file {path}: {exc.strerror}") from None
    return AvroSchema.from_json(name, text)


ALL_SCHEMA_FILES: Final = (*SCHEMA_NAMES, "recipient_state", "suppression_changed")
"""Every schema in ``schemas/``: ``run``'s three, then ``suppress``'s two."""


def load_history(name: str, directory: Path | None = None) -> tuple[AvroSchema, ...]:
    """Every version of schema ``name`` in ``<directory>/history/<name>/``, by fingerprint.

    Each file must be named after its own fingerprint: a file that is not (copied under the
    wrong name, or edited beyond docs and defaults) is a :class:`SchemaLoadError`.
    """
    folder = (directory or schema_dir()) / "history" / name
    try:
        paths = sorted(folder.glob("*.avsc"))
    except OSError as exc:
        raise SchemaLoadError(f"cannot list schema history {folder}: {exc.strerror}") from None
    versions = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SchemaLoadError(f"cannot read schema file {path}: {exc.strerror}") from None
        schema = AvroSchema.from_json(name, text)
        if path.stem != schema.fingerprint_hex:
            raise SchemaLoadError(
                f"schema history file {path.name} of {name} has fingerprint "
                f"{schema.fingerprint_hex}: name it {schema.fingerprint_hex}.avsc"
            )
        versions.append(schema)
    return tuple(versions)


@cache
def history(name: str) -> tuple[AvroSchema, ...]:
    """Every released version of the packaged schema ``name``, loaded once per process."""
    return load_history(name)


def known_writers(names: tuple[str, ...] = ALL_SCHEMA_FILES) -> tuple[AvroSchema, ...]:
    """Every released version of the schemas ``names``: the writers a reader recognises."""
    return tuple(s for name in names for s in history(name))


def get_schema(name: SchemaName) -> AvroSchema:
    """The packaged schema ``name``, loaded once per process."""
    return _cached_schema(name)


@cache
def _cached_schema(name: SchemaName) -> AvroSchema:
    return load_schema(name)


def bounce_event_schema() -> AvroSchema:
    return get_schema("bounce_event")


def mailbox_checkpoint_schema() -> AvroSchema:
    return get_schema("mailbox_checkpoint")


def dead_letter_schema() -> AvroSchema:
    return get_schema("dead_letter")


def all_schemas() -> tuple[AvroSchema, ...]:
    """The three schemas, in :data:`SCHEMA_NAMES` order."""
    return tuple(get_schema(n) for n in SCHEMA_NAMES)
