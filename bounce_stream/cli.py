"""The ``bounce-stream`` command line.

Exit codes: 0 success, 1 failure at run time, 2 bad configuration or usage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from bounce_stream import __version__
from bounce_stream.cli_schema import schema
from bounce_stream.consumer import RecordDecoder
from bounce_stream.detection import ParseOptions, parse
from bounce_stream.encoding.avro import DecodeError, Decoder
from bounce_stream.encoding.registry import RegistryError, SchemaRegistryClient
from bounce_stream.events import UnpublishableRecipient, event_records, to_json_ready
from bounce_stream.inputs import iter_messages
from bounce_stream.settings import ConfigError, Settings, load_settings

EXIT_FAILURE = 1
EXIT_CONFIG = 2

_config_option = click.option(
    "--config",
    "-c",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BOUNCE_STREAM_CONFIG",
    default=None,
    help="YAML config file (env: BOUNCE_STREAM_CONFIG); BOUNCE_STREAM__* variables override it.",
)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"bounce-stream: {message}", err=True)
    raise SystemExit(code)


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bounce-stream")
def main() -> None:
    """Watch IMAP bounce mailboxes and publish exactly-once Avro bounce events to Kafka."""


main.add_command(schema)


@main.command("run")
@_config_option
def run_cmd(config: Path | None) -> None:
    """Serve every mailbox in the config (this replica's share) until SIGTERM."""
    from bounce_stream.logs import configure
    from bounce_stream.service import Service, owned_mailboxes, replica_slot

    settings = _settings(config)
    try:
        index, count = replica_slot()
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    if not settings.mailboxes:
        _fail("no mailboxes configured (mailboxes: [...])", EXIT_CONFIG)
    configure(settings.logging.level, settings.logging.format)
    try:
        asyncio.run(Service(settings).run(owned_mailboxes(settings.mailboxes, index, count)))
    except OSError as exc:  # e.g. the metrics port is taken
        _fail(f"cannot start: {exc.strerror or exc}", EXIT_FAILURE)


@main.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tracking-header", default=None, help="Header that carries your own mail id.")
@click.option("--verp-separator", default=None, help="VERP separator in the envelope sender.")
def parse_cmd(
    paths: tuple[Path, ...], tracking_header: str | None, verp_separator: str | None
) -> None:
    """Classify .eml files, Maildir folders or mbox files offline; one JSON line per message.

    Each line holds the events `run` would publish for the message, minus the fields that
    say where and when it was read (mailbox, uid, uidvalidity, detected_at).
    """
    options = ParseOptions(
        **({"tracking_header": tracking_header} if tracking_header else {}),
        verp_separator=verp_separator,
    )
    out = sys.stdout
    for item in iter_messages(list(paths)):
        line: dict[str, object] = {"file": item.label}
        events: list[dict[str, object]] = []
        errors = [item.error] if item.error else []
        for raw in item.raws:
            result = parse(raw, options)
            if result.error:
                errors.append(result.error)
                continue
            try:
                events.extend(to_json_ready(r) for r in event_records(result, None))
            except UnpublishableRecipient as exc:  # `run` dead-letters such a message
                errors.append(str(exc))
        line["events"] = events
        if errors:
            line["error"] = "; ".join(errors)
        # ASCII JSON: a file name that is not valid UTF-8 (a lone surrogate) stays printable.
        out.write(json.dumps(line) + "\n")


def _run_kafka(work: Any) -> Any:
    from bounce_stream.publishing.kafka import KafkaUnavailable, TopicsMissing

    # aiokafka logs every failed attempt itself; the one line below says what went wrong.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(work)
    except (KafkaUnavailable, TopicsMissing) as exc:
        _fail(f"Kafka: {exc}", EXIT_FAILURE)


@main.command("consume")
@_config_option
@click.option(
    "--topic",
    type=click.Choice(["events", "dead-letter", "checkpoints"]),
    default="events",
    show_default=True,
    help="Which of the configured topics to read.",
)
@click.option("--from-beginning/--from-end", default=True, show_default=True)
@click.option("--max-messages", "-n", type=int, default=None, help="Stop after N records.")
@click.option(
    "--idle-timeout",
    type=float,
    default=None,
    help="Stop once nothing arrived for this many seconds (default: follow forever).",
)
def consume_cmd(
    config: Path | None,
    topic: str,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
) -> None:
    """Tail a topic with read_committed, decode the Avro values, print JSON lines."""
    from bounce_stream.publishing.reading import tail

    settings = _settings(config)
    name = {
        "events": settings.kafka.events_topic,
        "dead-letter": settings.kafka.dead_letter_topic,
        "checkpoints": settings.kafka.checkpoint_topic,
    }[topic]
    registry = (
        SchemaRegistryClient.from_settings(settings.schema_registry)
        if settings.schema_registry.url
        else None
    )
    # Either framing; Confluent ids are fetched once; records are resolved to the shipped
    # schemas, so events of an older or newer writer print in today's shape.
    decoder = RecordDecoder(registry=registry)

    async def work() -> None:
        async for rec in tail(
            settings.kafka,
            name,
            from_beginning=from_beginning,
            idle_timeout=idle_timeout,
            limit=max_messages,
        ):
            line: dict[str, Any] = {
                "partition": rec.partition,
                "offset": rec.offset,
                "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
            }
            if rec.value is None:
                line["value"] = None
            else:
                try:
                    value = await decoder.decode_async(rec.value, rec.headers)
                    if "raw" in value:  # dead letters: show size, not the bytes
                        value["raw"] = f"<{len(value['raw'])} bytes>"
                    line["value"] = to_json_ready(value)
                except (DecodeError, RegistryError) as exc:
                    line["error"] = str(exc)
            click.echo(json.dumps(line, ensure_ascii=False))

    _run_kafka(work())


@main.group("checkpoint")
def checkpoint() -> None:
    """Inspect and manage the per-mailbox checkpoints in the compacted topic."""


@checkpoint.command("show")
@_config_option
def checkpoint_show(config: Path | None) -> None:
    """Print the committed checkpoint of every mailbox, one JSON line each."""
    from bounce_stream.publishing.reading import latest_by_key

    settings = _settings(config)
    decoder = Decoder()

    async def work() -> None:
        values = await latest_by_key(settings.kafka, settings.kafka.checkpoint_topic)
        names = {mb.mailbox_id: mb.name for mb in settings.mailboxes}
        for key in sorted(values):
            raw = values[key]
            mailbox_id = key.decode("utf-8", "replace")
            line: dict[str, Any] = {"mailbox": mailbox_id, "name": names.get(mailbox_id)}
            if raw is None:
                line["checkpoint"] = None
            else:
                line["checkpoint"] = to_json_ready(decoder.decode(raw))
            click.echo(json.dumps(line, ensure_ascii=False))

    _run_kafka(work())


@checkpoint.command("reset")
@_config_option
@click.argument("mailbox_name")
@click.option("--uid", type=int, default=None, help="Resume after this UID (default: forget).")
@click.option("--uidvalidity", type=int, default=None, help="UIDVALIDITY for --uid.")
@click.option("--yes", is_flag=True, help="Do it (without --yes nothing is written).")
def checkpoint_reset(
    config: Path | None, mailbox_name: str, uid: int | None, uidvalidity: int | None, yes: bool
) -> None:
    """Move or forget MAILBOX_NAME's checkpoint.

    Writes through the mailbox's own transactional.id, so a running owner is fenced, stands
    by for kafka.fenced_backoff_seconds, then resumes from the new position. Without --uid the
    checkpoint is deleted (tombstone) and the mailbox is read again from its first message;
    the events then repeat with the same event_id.
    """
    from bounce_stream.publishing.kafka import OutRecord, TransactionalPublisher, partition_for
    from bounce_stream.service import build_codecs
    from bounce_stream.worker import transactional_id

    settings = _settings(config)
    matches = [mb for mb in settings.mailboxes if mb.name == mailbox_name]
    if not matches:
        _fail(f"no mailbox named {mailbox_name!r} in the config", EXIT_CONFIG)
    mb = matches[0]
    if uid is not None and uidvalidity is None:
        _fail("--uid needs --uidvalidity (see `checkpoint show`)", EXIT_CONFIG)
    if not yes:
        what = f"uid {uid}, uidvalidity {uidvalidity}" if uid is not None else "deleted"
        _fail(f"would set {mb.mailbox_id} to {what}; add --yes to do it", EXIT_CONFIG)
    kafka = settings.kafka

    async def work() -> None:
        codecs = await build_codecs(settings)
        publisher = TransactionalPublisher(
            kafka, transactional_id(kafka.transactional_id_prefix, mb.mailbox_id), 1024 * 1024
        )
        await publisher.start()
        try:
            key = mb.mailbox_id.encode()
            part = partition_for(key, await publisher.partitions(kafka.checkpoint_topic))
            value: bytes | None = None
            if uid is not None:
                value = codecs.checkpoint.encode(
                    {
                        "mailbox": mb.mailbox_id,
                        "uidvalidity": uidvalidity,
                        "last_uid": uid,
                        "committed_at": datetime.now(UTC),
                        "messages": 0,
                        "instance": f"checkpoint-reset:{settings.instance}",
                    }
                )
            await publisher.publish([OutRecord(kafka.checkpoint_topic, key, value, partition=part)])
        finally:
            await publisher.stop()
        click.echo(f"{mb.mailbox_id}: checkpoint {'set' if uid is not None else 'deleted'}")

    _run_kafka(work())


@main.group("suppress", invoke_without_command=True)
@_config_option
@click.pass_context
def suppress(ctx: click.Context, config: Path | None) -> None:
    """Maintain the suppression state from the events topic (exactly once) until SIGTERM.

    Reads the events topic as consumer group suppression.group_id, keeps one RecipientState
    per recipient in suppression.recipients_topic (compacted) and emits SuppressionChanged
    events to suppression.suppressions_topic. See docs/operations.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    from bounce_stream.logs import configure
    from bounce_stream.suppression.processor import serve

    settings = _settings(config)
    configure(settings.logging.level, settings.logging.format)
    try:
        _run_kafka(serve(settings))
    except OSError as exc:  # e.g. the metrics port is taken
        _fail(f"cannot start: {exc.strerror or exc}", EXIT_FAILURE)


@suppress.command("release")
@_config_option
@click.argument("address")
def suppress_release(config: Path | None, address: str) -> None:
    """Release ADDRESS: write its cleared state and a `released` change (rule manual).

    Writes through the transactional id that owns ADDRESS's partition, so the running
    processor is fenced for a moment and rebuilds its state from the recipients topic.
    """
    from bounce_stream.suppression.processor import release_recipient

    settings = _settings(config)
    outcome = _run_kafka(release_recipient(settings, address))
    what = "released" if outcome.change is not None else "was not suppressed (state cleared)"
    click.echo(f"{address.strip().lower()}: {what}")
