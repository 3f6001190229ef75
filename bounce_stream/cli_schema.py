"""``bounce-stream schema print|register|check``: the Avro schemas and the Schema Registry.

Five schemas: the three `run` writes (bounce_event, mailbox_checkpoint, dead_letter) and the two
`suppress` writes (recipient_state, suppression_changed). `suppress` always writes single-object
encoding; registering its subjects lets the registry guard their evolution too.

Exit codes: 0 success, 1 a schema is incompatible, 2 bad configuration, 3 registry error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar, cast

import click

from bounce_stream.encoding.registry import (
    RegistryError,
    SchemaRegistryClient,
    TopicSchema,
    topic_schemas,
    value_subject,
)
from bounce_stream.encoding.schemas import SCHEMA_NAMES, AvroSchema, SchemaName, get_schema
from bounce_stream.settings import ConfigError, Settings, load_settings
from bounce_stream.suppression.codec import recipient_state_schema, suppression_changed_schema

EXIT_INCOMPATIBLE = 1
EXIT_CONFIG = 2
EXIT_REGISTRY = 3

_T = TypeVar("_T")

SUPPRESSION_SCHEMA_NAMES: Final = ("recipient_state", "suppression_changed")
ALL_SCHEMA_NAMES: Final[tuple[str, ...]] = (*SCHEMA_NAMES, *SUPPRESSION_SCHEMA_NAMES)

_config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML config file (environment overrides apply as for `run`).",
)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"bounce-stream: {message}", err=True)
    raise SystemExit(code)


def _describe(schema: AvroSchema) -> dict[str, Any]:
    return {
        "name": schema.name,
        "full_name": schema.full_name,
        "fingerprint_crc64_avro": schema.fingerprint_hex,
        "schema": schema.definition,
    }


def _schema(name: str) -> AvroSchema:
    if name == "recipient_state":
        return recipient_state_schema()
    if name == "suppression_changed":
        return suppression_changed_schema()
    return get_schema(cast(SchemaName, name))  # one of SCHEMA_NAMES: click checked it


def _targets(settings: Settings) -> tuple[TopicSchema, ...]:
    """The value subjects of the five topics: `run`'s three, then `suppress`'s two."""
    suppression = settings.suppression
    return (
        *topic_schemas(settings.kafka),
        TopicSchema(
            suppression.recipients_topic,
            value_subject(suppression.recipients_topic),
            recipient_state_schema(),
        ),
        TopicSchema(
            suppression.suppressions_topic,
            value_subject(suppression.suppressions_topic),
            suppression_changed_schema(),
        ),
    )


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)


def _client(settings: Settings) -> SchemaRegistryClient:
    try:
        return SchemaRegistryClient.from_settings(settings.schema_registry)
    except ValueError as exc:
        _fail(str(exc), EXIT_CONFIG)


def _run(work: Coroutine[Any, Any, _T]) -> _T:
    try:
        return asyncio.run(work)
    except RegistryError as exc:
        _fail(str(exc), EXIT_REGISTRY)


@click.group("schema")
def schema() -> None:
    """Print the Avro schemas, register them, check them against the registry.

    Exit codes: 0 ok, 1 a schema is incompatible, 2 bad configuration, 3 registry error.
    """


@schema.command("print")
@click.argument("name", required=False, type=click.Choice(ALL_SCHEMA_NAMES))
def print_cmd(name: str | None) -> None:
    """Pretty JSON of schema NAME (an object), or of all five (an array), with fingerprints.

    The CRC-64-AVRO fingerprint is shown as Java prints it: the 64-bit number in hex (the
    single-object header holds the same number little-endian). See docs/consuming.md.
    """
    if name is not None:
        described: Any = _describe(_schema(name))
    else:
        described = [_describe(_schema(n)) for n in ALL_SCHEMA_NAMES]
    click.echo(json.dumps(described, indent=2, ensure_ascii=False))


@schema.command("register")
@_config_option
def register_cmd(config: Path | None) -> None:
    """Register the five value subjects (<topic>-value) and print their ids."""
    settings = _settings(config)
    client = _client(settings)
    targets = _targets(settings)

    async def register_all() -> list[tuple[TopicSchema, int]]:
        return [(t, await client.register(t.subject, t.schema)) for t in targets]

    for target, schema_id in _run(register_all()):
        click.echo(f"{target.subject}\t{target.schema.full_name}\tid={schema_id}")


@schema.command("check")
@_config_option
def check_cmd(config: Path | None) -> None:
    """Check the five local schemas against each subject's latest version; exit 1 if one is
    incompatible (a subject without versions accepts any schema)."""
    settings = _settings(config)
    client = _client(settings)
    targets = _targets(settings)

    async def check_all() -> list[tuple[TopicSchema, bool, tuple[str, ...]]]:
        results = []
        for target in targets:
            verdict = await client.check_compatibility(target.subject, target.schema)
            results.append((target, verdict.compatible, verdict.messages))
        return results

    incompatible = False
    for target, compatible, messages in _run(check_all()):
        click.echo(f"{target.subject}\t{'compatible' if compatible else 'INCOMPATIBLE'}")
        for message in messages:
            click.echo(f"  {message}")
        incompatible = incompatible or not compatible
    if incompatible:
        raise SystemExit(EXIT_INCOMPATIBLE)
