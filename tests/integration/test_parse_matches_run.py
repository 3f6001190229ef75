"""`parse` on a file prints exactly what `run` publishes for the same message read over IMAP.

The whole in-repo corpus travels through real Dovecot (which hands messages back with CRLF line
endings and its own NUL handling) and real Kafka; the offline `parse` of the same files must give
the same events, `event_id` included, minus the fields that say where and when a message was read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bounce_stream.events import SOURCE_FIELDS, to_json_ready
from bounce_stream.inputs import iter_messages
from tests.integration.pipeline import ServiceProcess, Setup, events, wait_for_checkpoint

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "corpus"


@pytest.fixture
def service(setup: Setup) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(setup)
    yield svc
    svc.stop()


def test_every_corpus_message_gets_the_same_events_from_parse_and_run(
    setup: Setup, service: ServiceProcess
) -> None:
    """Each corpus message yields identical events (ids included) offline and over IMAP."""
    files = sorted(p for p in CORPUS.rglob("*.eml"))
    assert len(files) > 400
    # A file holding several mbox messages is several IMAP messages.
    messages = [raw for unit in iter_messages(files) for raw in unit.raws]
    setup.append(messages)
    service.wait_ready()
    wait_for_checkpoint(setup, len(messages), timeout=120)

    published = {v["event_id"]: to_json_ready(v) for _, v, _ in events(setup)}
    parsed = subprocess.run(
        [sys.executable, "-m", "bounce_stream", "parse", *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    offline: dict[str, dict[str, object]] = {}
    for line in parsed:
        for event in json.loads(line)["events"]:
            offline[event["event_id"]] = event

    assert len(offline) > 300  # copies of one message (newline-dos/, -mac/) share ids
    only_offline = sorted(set(offline) - set(published))
    only_published = sorted(set(published) - set(offline))
    assert not only_offline and not only_published, (
        f"{len(only_offline)} ids only from parse, {len(only_published)} only from run: "
        f"{[offline[i]['recipient'] for i in only_offline][:10]}"
    )
    for event_id, event in offline.items():
        want = {k: v for k, v in published[event_id].items() if k not in SOURCE_FIELDS}
        assert event == want, event_id
