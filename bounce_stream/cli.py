"""The ``bounce-stream`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bounce_stream import __version__
from bounce_stream.detection import ParseOptions, parse
from bounce_stream.events import event_records, to_json_ready
from bounce_stream.inputs import iter_messages


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bounce-stream")
def main() -> None:
    """Watch IMAP bounce mailboxes and publish exactly-once Avro bounce events to Kafka."""


@main.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tracking-header", default=None, help="Header that carries your own mail id.")
@click.option("--verp-separator", default=None, help="VERP separator in the envelope sender.")
def parse_cmd(paths: tuple[Path, ...], tracking_header: str | None, verp_separator: str | None) -> None:
    """Classify .eml files, Maildir folders or mbox files offline; one JSON line per message."""
    options = ParseOptions(
        **({"tracking_header": tracking_header} if tracking_header else {}),
        verp_separator=verp_separator,
    )
    out = sys.stdout
    for item in iter_messages(list(paths)):
        line: dict[str, object] = {"file": item.label}
        if item.raw is None:
            line.update(events=[], error=item.error)
        else:
            result = parse(item.raw, options)
            line["events"] = [to_json_ready(r) for r in event_records(result, None)]
            if result.error:
                line["error"] = result.error
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
