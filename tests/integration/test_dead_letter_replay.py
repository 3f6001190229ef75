"""The dead-letter procedure of docs/operations.md, end to end against real Kafka and Dovecot:
inspect with `consume --topic dead-letter`, export the bytes with --save-raw, fix, replay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    checkpoint,
    events,
    make_dsn,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

POISON = b"\x80\x81 this is not an internet message at all\r\n\r\n\xfe\xff"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bounce_stream", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _start(setup: Setup, services: list[ServiceProcess], **mailbox: Any) -> ServiceProcess:
    svc = ServiceProcess(setup, **mailbox)
    services.append(svc)
    svc.wait_ready()
    return svc


def test_dead_letters_are_listed_exported_and_replayed_after_the_fix(
    setup: Setup, services: list[ServiceProcess], tmp_path: Path
) -> None:
    """An oversized bounce and a poison message are dead-lettered; `consume --topic dead-letter
    --save-raw` lists both and writes the poison's exact bytes; after raising
    max_message_bytes, a checkpoint rewind publishes the once-oversized bounce, and the events
    read again keep their event_id."""
    big = make_dsn("big@example.org") + b"X" * 30_000
    setup.append([make_dsn("first@example.org"), big, make_dsn("third@example.org"), POISON])
    svc = _start(setup, services, max_message_bytes=20_000)
    cp = wait_for_checkpoint(setup, 4)
    assert svc.stop() == 0
    assert sorted(k for k, _, _ in events(setup)) == ["first@example.org", "third@example.org"]

    exported = tmp_path / "dead"
    listed = _cli(
        "consume",
        "--config",
        str(svc.config),
        "--topic",
        "dead-letter",
        "--idle-timeout",
        "3",
        "--save-raw",
        str(exported),
    )
    assert listed.returncode == 0, listed.stderr
    lines = sorted(
        (json.loads(line) for line in listed.stdout.splitlines()),
        key=lambda line: line["value"]["uid"],
    )
    assert [line["value"]["uid"] for line in lines] == [2, 4]
    oversized, poison = lines
    assert oversized["value"]["truncated"] and oversized["value"]["size"] == len(big)
    assert "exceeds max_message_bytes" in oversized["value"]["error"]
    assert "raw_file" not in oversized  # dead-lettered by reference: nothing to export
    assert poison["value"]["raw"] == f"<{len(POISON)} bytes>"
    assert Path(poison["raw_file"]).read_bytes() == POISON
    assert "2 record(s)" in listed.stderr

    # The fix (a larger max_message_bytes), then a rewind to just before the dead letter.
    reset = _cli(
        "checkpoint",
        "reset",
        "main",
        "--config",
        str(svc.config),
        "--uid",
        "1",
        "--uidvalidity",
        str(cp["uidvalidity"]),
        "--yes",
    )
    assert reset.returncode == 0, reset.stderr
    assert checkpoint(setup)["last_uid"] == 1
    _start(setup, services, max_message_bytes=200_000)
    wait_for_checkpoint(setup, 4)

    published = events(setup)
    assert Counter(k for k, _, _ in published) == {
        "first@example.org": 1,  # before the rewind point: not read again
        "big@example.org": 1,  # the replayed dead letter
        "third@example.org": 2,  # read again, same event_id
    }
    third_ids = {v["event_id"] for k, v, _ in published if k == "third@example.org"}
    assert len(third_ids) == 1
