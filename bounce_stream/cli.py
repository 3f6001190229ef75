"""The ``bounce-stream`` command line.

Exit codes: 0 success, 1 failure at run time, 2 bad configuration or usage, 4 a topic the
command reads does not exist (`suppress`: the events topic; nothing here creates it but `run`).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import click

from bounce_stream import __version__

if TYPE_CHECKING:
    from bounce_stream.settings import MailboxSettings, Settings

# Each command imports what it needs inside its function: `parse` must not pay for pydantic,
# asyncio, Kafka or the schema registry client (startup 0.25 s, not 0.5 s).

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_TOPIC_NOT_FOUND = 4
EXIT_UNKNOWN_SCHEMA = 5

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
    from bounce_stream.settings import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)


class _LazyGroup(click.Group):
    """A group whose heavier sub-commands are imported only when invoked or listed."""

    lazy: ClassVar[Mapping[str, str]] = {"schema": "bounce_stream.cli_schema:schema"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bounce-stream")
def main() -> None:
    """Watch IMAP bounce mailboxes and publish exactly-once Avro bounce events to Kafka."""


@main.command("run")
@_config_option
def run_cmd(config: Path | None) -> None:
    """Serve every mailbox in the config (this replica's share) until SIGTERM."""
    import asyncio

    from bounce_stream.logs import configure
    from bounce_stream.service import Service, owned_mailboxes, replica_slot
    from bounce_stream.settings import ConfigError

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
@click.option(
    "--extract-header",
    "extract_headers",
    multiple=True,
    metavar="NAME",
    help="Header of the returned original to publish in extracted_headers (repeatable).",
)
def parse_cmd(
    paths: tuple[Path, ...],
    tracking_header: str | None,
    verp_separator: str | None,
    extract_headers: tuple[str, ...],
) -> None:
    """Classify .eml files, Maildir folders or mbox files offline; one JSON line per message.

    Each line holds the events `run` would publish for the message, minus the fields that
    say where and when it was read (mailbox, uid, uidvalidity, detected_at). A PATH of `-`
    reads one message from standard input. An input that cannot be read gets a line with
    its error, the others are still processed, and the exit status is 1.
    """
    from bounce_stream.detection import DEFAULT_TRACKING_HEADER, ParseOptions, parse
    from bounce_stream.detection.model import MAX_EXTRACT_HEADERS, is_header_name
    from bounce_stream.events import UnpublishableRecipient, event_records, to_json_ready
    from bounce_stream.inputs import InputMessage, iter_messages

    if len(extract_headers) > MAX_EXTRACT_HEADERS:
        raise click.BadParameter(f"at most {MAX_EXTRACT_HEADERS}", param_hint="--extract-header")
    for name in extract_headers:
        if not is_header_name(name):
            raise click.BadParameter(
                f"{name[:80]!r} is not a header name", param_hint="--extract-header"
            )

    options = ParseOptions(
        tracking_header=tracking_header or DEFAULT_TRACKING_HEADER,
        verp_separator=verp_separator,
        extract_headers=extract_headers,
    )

    def inputs() -> Iterator[InputMessage]:
        for path in paths:
            if str(path) == "-":
                yield InputMessage("-", (sys.stdin.buffer.read(),))
            else:
                yield from iter_messages([path])

    out = sys.stdout
    unreadable = 0
    for item in inputs():
        line: dict[str, object] = {"file": item.label}
        events: list[dict[str, object]] = []
        errors = [item.error] if item.error else []
        unreadable += item.error is not None
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
    if unreadable:
        out.flush()
        _fail(f"{unreadable} input(s) could not be read", EXIT_FAILURE)


def _run_kafka(work: Any, *, topic_not_found: str | None = None) -> Any:
    """Run ``work``; a Kafka failure is one line and exit 1. With ``topic_not_found`` (a format
    string with ``{topic}``), a topic that does not exist is that message and exit 4."""
    import asyncio
    import logging

    from bounce_stream.publishing.kafka import KafkaUnavailable, TopicNotFound, TopicsMissing

    # aiokafka logs every failed attempt itself; the one line below says what went wrong.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(work)
    except TopicNotFound as exc:
        if topic_not_found is None:
            _fail(f"Kafka: {exc}", EXIT_FAILURE)
        _fail(topic_not_found.format(topic=exc.topic), EXIT_TOPIC_NOT_FOUND)
    except (KafkaUnavailable, TopicsMissing) as exc:
        _fail(f"Kafka: {exc}", EXIT_FAILURE)


def _kafka_only_settings(bootstrap: str | None, kafka_config: Path | None) -> Settings:
    """Settings from the `kafka` and `schema_registry` sections only: no mailbox, no IMAP secret.

    ``kafka_config`` has the layout of the service's config file (it may be that very file:
    its other sections are ignored); ``bootstrap`` overrides kafka.bootstrap_servers.
    """
    import yaml
    from pydantic import ValidationError

    from bounce_stream.settings import Settings

    data: Any = {}
    if kafka_config is not None:
        try:
            data = yaml.safe_load(kafka_config.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            _fail(f"cannot read {kafka_config}: {exc.strerror}", EXIT_CONFIG)
        except yaml.YAMLError:
            _fail(f"{kafka_config} is not valid YAML", EXIT_CONFIG)
        if not isinstance(data, dict):
            _fail(f"{kafka_config} must hold a mapping at the top level", EXIT_CONFIG)
    kafka = data.get("kafka") or {}
    if not isinstance(kafka, dict):
        _fail(f"{kafka_config}: kafka must be a section", EXIT_CONFIG)
    if bootstrap:
        kafka = {**kafka, "bootstrap_servers": bootstrap}
    wanted = {"kafka": kafka, "schema_registry": data.get("schema_registry") or {}}
    try:
        return Settings.model_validate(wanted)
    except ValidationError as exc:
        # Never the pydantic text itself: it carries the input, secrets included.
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
    _fail("invalid Kafka configuration:\n  " + "\n  ".join(problems), EXIT_CONFIG)


def _raw_dir(path: Path, topic: str) -> None:
    """Check --save-raw: dead letters only; create the directory."""
    if topic != "dead-letter":
        raise click.BadParameter("only with --topic dead-letter", param_hint="--save-raw")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create {path}: {exc.strerror}", EXIT_CONFIG)


@main.command("consume")
@_config_option
@click.option(
    "--bootstrap-server",
    "-b",
    "bootstrap",
    default=None,
    help="Kafka bootstrap servers (host:port[,...]); with it no --config is read.",
)
@click.option(
    "--kafka-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML file whose kafka/schema_registry sections are read (mailboxes are ignored).",
)
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
@click.option(
    "--save-raw",
    "save_raw",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --topic dead-letter: write each dead letter's message bytes to "
    "DIR/dead-letter-<partition>-<offset>.eml (for `parse`, or to append it to the mailbox "
    "again); the JSON line names the file.",
)
def consume_cmd(
    config: Path | None,
    bootstrap: str | None,
    kafka_config: Path | None,
    topic: str,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
    save_raw: Path | None,
) -> None:
    """Tail a topic with read_committed, decode the Avro values, print JSON lines.

    With -b/--bootstrap-server or --kafka-config only the Kafka (and schema registry)
    settings are read, so no IMAP password is needed. At the end a summary line goes to
    standard error. Dead letters print the size of their message bytes, not the bytes;
    --save-raw DIR writes them to files (docs/operations.md: replaying dead letters).
    """
    import time

    from bounce_stream.consumer import RecordDecoder
    from bounce_stream.encoding.avro import DecodeError
    from bounce_stream.encoding.registry import RegistryError, SchemaRegistryClient
    from bounce_stream.events import to_json_ready
    from bounce_stream.publishing.reading import tail

    if save_raw is not None:
        _raw_dir(save_raw, topic)
    if bootstrap is not None or kafka_config is not None:
        settings = _kafka_only_settings(bootstrap, kafka_config)
    else:
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
    counts = {"records": 0, "undecodable": 0, "tombstones": 0}
    started = time.monotonic()

    async def work() -> None:
        async for rec in tail(
            settings.kafka,
            name,
            from_beginning=from_beginning,
            idle_timeout=idle_timeout,
            limit=max_messages,
        ):
            counts["records"] += 1
            line: dict[str, Any] = {
                "partition": rec.partition,
                "offset": rec.offset,
                "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
            }
            if rec.value is None:
                counts["tombstones"] += 1
                line["value"] = None
            else:
                try:
                    value = await decoder.decode_async(rec.value, rec.headers)
                    if "raw" in value:  # dead letters: show size, not the bytes
                        raw = value["raw"]
                        value["raw"] = f"<{len(raw)} bytes>"
                        if save_raw is not None and raw:
                            path = save_raw / f"dead-letter-{rec.partition}-{rec.offset}.eml"
                            path.write_bytes(raw)
                            line["raw_file"] = str(path)
                    line["value"] = to_json_ready(value)
                except (DecodeError, RegistryError) as exc:
                    counts["undecodable"] += 1
                    line["error"] = str(exc)
            click.echo(json.dumps(line, ensure_ascii=False))

    def summary() -> None:
        click.echo(
            f"bounce-stream: {counts['records']} record(s) from {name} "
            f"({counts['undecodable']} undecodable, {counts['tombstones']} tombstones) "
            f"in {time.monotonic() - started:.1f} s",
            err=True,
        )

    try:
        _run_kafka(work())
    except KeyboardInterrupt:
        summary()
        raise SystemExit(130) from None
    summary()


@main.group("config")
def config_group() -> None:
    """Check the configuration before deploying it."""


async def _check_kafka(settings: Settings) -> tuple[bool, str]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    from bounce_stream.publishing.kafka import client_options, unavailable

    kafka = settings.kafka
    admin = AIOKafkaAdminClient(**client_options(kafka))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    except (TimeoutError, KafkaError, OSError) as exc:
        return False, str(await unavailable(kafka, "Kafka", exc))
    finally:
        await admin.close()
    topics = [kafka.events_topic, kafka.dead_letter_topic, kafka.checkpoint_topic]
    if kafka.archive_topic is not None:
        topics.append(kafka.archive_topic)
    missing = [t for t in topics if t not in existing]
    if missing and not kafka.create_topics:
        return False, f"Kafka: topics missing and create_topics is false: {', '.join(missing)}"
    what = f"{len(missing)} topic(s) to be created" if missing else "all topics present"
    return True, f"Kafka {kafka.bootstrap_servers}: reachable, {what}"


async def _check_registry(settings: Settings) -> tuple[bool, str]:
    """Reach the schema registry with the configured credentials and check that each value
    subject `run` registers accepts the shipped schema (what `schema check` does)."""
    from bounce_stream.encoding.registry import RegistryError, SchemaRegistryClient, topic_schemas

    url = settings.schema_registry.url
    try:
        client = SchemaRegistryClient.from_settings(settings.schema_registry)
        verdicts = [
            (target.subject, await client.check_compatibility(target.subject, target.schema))
            for target in topic_schemas(settings.kafka)
        ]
    except (RegistryError, ValueError) as exc:
        return False, f"schema registry: {exc}"
    refused = [subject for subject, verdict in verdicts if not verdict.compatible]
    if refused:
        reasons = "; ".join(m for _, v in verdicts if not v.compatible for m in v.messages[:1])
        return False, (
            f"schema registry {url}: the shipped schema is incompatible with "
            f"{', '.join(refused)}" + (f" ({reasons})" if reasons else "")
        )
    return True, f"schema registry {url}: reachable, {len(verdicts)} subject(s) compatible"


async def _check_mailbox(mb: MailboxSettings) -> tuple[bool, str]:
    from bounce_stream.mailbox.imap import ImapError, ImapMailbox

    mailbox = ImapMailbox(mb)
    try:
        await mailbox.connect()
    except ImapError as exc:
        return False, f"{mb.mailbox_id}: {exc}"
    try:
        return True, (
            f"{mb.mailbox_id}: signed in with {mb.auth.summary}, "
            f"{mailbox.exists} message(s) in the folder"
        )
    finally:
        await mailbox.close()


@config_group.command("check")
@_config_option
def config_check(config: Path | None) -> None:
    """Validate the config, resolve its secrets and try Kafka, the schema registry (when
    schema_registry.url is set) and every IMAP mailbox.

    The registry check logs in and asks, for each value subject `run` registers, whether the
    shipped schema is compatible with its latest version. One line per check; exit 0 when all
    pass, 1 when a connection or the registry check fails, 2 when the config itself is
    invalid. No secret is ever printed.
    """
    import asyncio
    import logging

    settings = _settings(config)
    secrets = [secret for mb in settings.mailboxes for secret in mb.secrets]
    for secret in (settings.kafka.sasl_password, settings.schema_registry.password):
        if secret is not None:
            secrets.append(secret.get_secret_value())

    def scrub(text: str) -> str:
        # The messages are written to hold no secret; this is the belt to those braces.
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    click.echo(f"ok    config: valid, {len(settings.mailboxes)} mailbox(es), secrets resolved")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    async def work() -> list[tuple[bool, str]]:
        checks = [_check_kafka(settings)]
        if settings.schema_registry.url:
            checks.append(_check_registry(settings))
        checks.extend(_check_mailbox(mb) for mb in settings.mailboxes)
        return list(await asyncio.gather(*checks))

    results = asyncio.run(work())
    for ok, message in results:
        click.echo(f"{'ok  ' if ok else 'FAIL'}  {scrub(message)}")
    if not all(ok for ok, _ in results):
        raise SystemExit(EXIT_FAILURE)


@main.group("checkpoint")
def checkpoint() -> None:
    """Inspect and manage the per-mailbox checkpoints in the compacted topic."""


@checkpoint.command("show")
@_config_option
def checkpoint_show(config: Path | None) -> None:
    """Print the committed checkpoint of every mailbox, one JSON line each."""
    from bounce_stream.encoding.avro import Decoder
    from bounce_stream.events import to_json_ready
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
    from bounce_stream.publishing.checkpoints import CheckpointStore, Position, transactional_id
    from bounce_stream.publishing.kafka import TransactionalPublisher
    from bounce_stream.service import build_codecs

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
    # None: forget the checkpoint (a tombstone).
    position = None if uid is None or uidvalidity is None else Position(uidvalidity, uid)

    async def work() -> None:
        codecs = await build_codecs(settings)
        store = CheckpointStore(
            kafka, mb.mailbox_id, codecs.checkpoint, codecs.decoder, settings.instance
        )
        publisher = TransactionalPublisher(
            kafka, transactional_id(kafka.transactional_id_prefix, mb.mailbox_id), 1024 * 1024
        )
        await publisher.start()
        try:
            await store.reset(publisher, position)
        finally:
            await publisher.stop()
        click.echo(f"{mb.mailbox_id}: checkpoint {'set' if uid is not None else 'deleted'}")

    _run_kafka(work())


_EVENTS_TOPIC_NOT_FOUND = (
    "the events topic {topic!r} does not exist, so there is nothing to read. `bounce-stream "
    "run` creates it at its first start (kafka.create_topics): start it first, or create the "
    "topic, or correct kafka.events_topic (exit 4)"
)


@main.group("suppress", invoke_without_command=True)
@_config_option
@click.pass_context
def suppress(ctx: click.Context, config: Path | None) -> None:
    """Maintain the suppression state from the events topic (exactly once) until SIGTERM.

    Reads the events topic as consumer group suppression.group_id, keeps one RecipientState
    per recipient in suppression.recipients_topic (compacted) and emits SuppressionChanged
    events to suppression.suppressions_topic. See docs/operations.md.

    Exits 4 at once, saying so, when the events topic does not exist (it never creates it).
    Exits 5, naming it, at an event whose writer schema it does not know or cannot resolve
    to its own, without committing past it (upgrade, and the new version resumes there).
    """
    if ctx.invoked_subcommand is not None:
        return
    from bounce_stream.logs import configure
    from bounce_stream.suppression.processor import UnknownWriterSchema, serve

    settings = _settings(config)
    configure(settings.logging.level, settings.logging.format)
    try:
        _run_kafka(serve(settings), topic_not_found=_EVENTS_TOPIC_NOT_FOUND)
    except OSError as exc:  # e.g. the metrics port is taken
        _fail(f"cannot start: {exc.strerror or exc}", EXIT_FAILURE)
    except UnknownWriterSchema as exc:
        _fail(f"{exc} (exit {EXIT_UNKNOWN_SCHEMA})", EXIT_UNKNOWN_SCHEMA)


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
    outcome = _run_kafka(
        release_recipient(settings, address), topic_not_found=_EVENTS_TOPIC_NOT_FOUND
    )
    what = "released" if outcome.change is not None else "was not suppressed (state cleared)"
    click.echo(f"{address.strip().lower()}: {what}")


@main.command("reprocess")
@_config_option
@click.option(
    "--from-archive",
    "from_archive",
    is_flag=True,
    required=True,
    help="Read kafka.archive_topic (the only source there is; required, to say so).",
)
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Only messages archived at or after TIME: ISO 8601 (UTC unless it says) or an age "
    "like 36h, 7d, 2w. Applies where the group has no progress yet.",
)
@click.option(
    "--to-topic",
    default=None,
    metavar="TOPIC",
    help="Where the events go (default: kafka.events_topic); created if missing and allowed.",
)
@click.option(
    "--group-id",
    default=None,
    metavar="GROUP",
    help="Consumer group that keeps the progress (default: derived from the archive and the "
    "target topic). A new group replays the archive again from its start.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Archive records per Kafka transaction, at most.",
)
def reprocess_cmd(
    config: Path | None,
    from_archive: bool,
    since: str | None,
    to_topic: str | None,
    group_id: str | None,
    batch_size: int,
) -> None:
    """Classify the archived messages again and publish their events with their original
    event ids, exactly once (the progress commits with the events; kill it and run it again).

    Reads up to the archive's end offsets taken at start, printing a progress line on
    standard error, then a summary. See docs/operations.md.
    """
    import time
    from datetime import UTC, datetime

    from bounce_stream.logs import configure
    from bounce_stream.publishing.kafka import Fenced
    from bounce_stream.publishing.reprocess import (
        ReplayStats,
        parse_since,
        progress_line,
        reprocess,
    )

    assert from_archive  # click enforces it
    settings = _settings(config)
    if to_topic is not None and to_topic == settings.kafka.archive_topic:
        raise click.BadParameter("is the archive topic itself", param_hint="--to-topic")
    try:
        since_at = None if since is None else parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    configure("WARNING", settings.logging.format)
    started = time.monotonic()
    tty = sys.stderr.isatty()
    shown = {"at": started}

    def progress(done: int, total: int, stats: ReplayStats) -> None:
        now = time.monotonic()
        if now - shown["at"] < (0.2 if tty else 5.0):
            return
        shown["at"] = now
        line = progress_line(done, total, stats.records, now - started)
        click.echo(f"\r{line}\x1b[K" if tty else line, err=True, nl=not tty)

    try:
        report = _run_kafka(
            reprocess(
                settings,
                to_topic=to_topic,
                since=since_at,
                group_id=group_id,
                batch_records=batch_size,
                progress=progress,
            )
        )
    except Fenced:
        _fail("another reprocess with the same --group-id took over; this one stopped", 1)
    except KeyboardInterrupt:
        click.echo("", err=True)
        _fail("interrupted; run it again to resume after the last committed batch", 130)
    if tty:
        click.echo("", err=True)
    click.echo(report.summary(time.monotonic() - started), err=True)
