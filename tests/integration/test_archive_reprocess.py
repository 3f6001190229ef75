"""The raw archive and `reprocess --from-archive` against real Dovecot and Kafka: the service
archives what it read, and a replay lands exactly once with the original event ids, even when
it is SIGKILLed midway and run again."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    decode,
    events,
    kcat_raw,
    make_dsn,
    make_not_bounce,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

BOUNCES = 150
CAP = 4096
_FIRST = ("-c", "1", "-X", "isolation.level=read_committed", "-q", "-f", "%o\n")
_COMMAND = (sys.executable, "-m", "bounce_stream", "reprocess", "--from-archive")


def _without_message_id(raw: bytes) -> bytes:
    """``raw`` without its own Message-ID: fingerprinted by a digest of its bytes."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"message-id:")]
    return b"\r\n".join(kept) + sep + body


class Replay:
    """`bounce-stream reprocess --from-archive` as a child process, output in a log file."""

    def __init__(self, setup: Setup, config: Path, *args: str) -> None:
        self.log_path = setup.workdir / f"reprocess-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*_COMMAND, "-c", str(config), *args],
                cwd=setup.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
            )

    def finish(self, timeout: float = 60) -> str:
        """The output of a run that exited 0 (fails with the output otherwise)."""
        code = self.proc.wait(timeout)
        out = self.log_path.read_text(errors="replace")
        assert code == 0, out
        return out

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def _wait_for_one_event(setup: Setup, topic: str, timeout: float = 60) -> None:
    """Block until ``topic`` holds one committed record (kcat, read_committed)."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [*("kcat", "-b", setup.kafka.bootstrap, "-C", "-t", topic, "-o", "beginning"), *_FIRST],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return
        # Until reprocess has created the topic kcat says "Unknown topic" and exits 1.
        assert time.monotonic() < deadline, done.stderr.decode(errors="replace")
        time.sleep(0.05)


def _replayed(setup: Setup, topic: str) -> list[dict[str, Any]]:
    """Every committed event of ``topic``, decoded with fastavro (kcat, read_committed)."""
    return [decode(v, "bounce_event") for k, v, _ in kcat_raw(setup.kafka, topic) if v is not None]


def test_archive_and_replay_exactly_once_across_a_kill(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """Bounces and dead letters are archived raw (a human's mail is not); a replay killed
    midway and run again gives each original event exactly once, with its original id."""
    archive = setup.topics.events.replace(".events", ".archive")
    target = setup.topics.events.replace(".events", ".replay")
    setup.overrides["kafka"] = {"archive_topic": archive, "archive_max_bytes": CAP}
    bounces = [make_dsn(r, n=i) for i, r in enumerate(recipients("arc", BOUNCES))]
    # Over the cap and without Message-ID: archived truncated, its id from the archive key.
    long_one = _without_message_id(make_dsn("long@example.org", n=999)) + b"x" * (2 * CAP)
    junk = b"(no header field at all, so no message)\r\n" * 3
    human = make_not_bounce()
    sent = [*bounces, long_one, human, junk]
    setup.append(sent)
    svc = ServiceProcess(setup)
    services.append(svc)
    svc.wait_ready()
    wait_for_checkpoint(setup, len(sent))
    svc.stop()

    # The archive: every bounce and the dead letter, raw and complete, keyed by fingerprint.
    records = kcat_raw(setup.kafka, archive)
    by_uid = {int(h["uid"]): (k, v, h) for k, v, h in records}
    assert len(records) == len(by_uid) == len(sent) - 1
    assert set(by_uid) == {uid for uid in range(1, len(sent) + 1) if uid != len(sent) - 1}
    uidvalidity = str(setup.dovecot.uidvalidity(setup.user))
    for uid, (key, value, headers) in by_uid.items():
        raw = sent[uid - 1]
        assert key is not None and value is not None
        assert headers["mailbox"] == setup.mailbox_id and headers["size"] == str(len(raw))
        assert headers["uidvalidity"] == uidvalidity
        assert "internal-date" in headers and "received-at" in headers
        if raw is long_one:
            assert headers["truncated"] == "true" and gzip.decompress(value) == raw[:CAP]
            assert key.startswith(b"sha256:")
        else:
            assert headers["truncated"] == "false" and gzip.decompress(value) == raw
    original = {e["event_id"]: e for _, e, _ in events(setup)}
    assert len(original) == BOUNCES + 1

    config = svc.config
    first = Replay(setup, config, "--to-topic", target, "--batch-size", "1")
    _wait_for_one_event(setup, target)  # then SIGKILL at once: one transaction may be open
    first.kill()

    rest = Replay(setup, config, "--to-topic", target, "--batch-size", "7").finish()
    read = re.search(r"reprocess: ([0-9]+) archive record", rest)
    assert read is not None and "resumed" in rest, rest
    # The kill came midway: the first run left some records, and had done others.
    assert 0 < int(read.group(1)) < len(records), rest
    replayed = _replayed(setup, target)
    counts = Counter(e["event_id"] for e in replayed)
    assert not {i: n for i, n in counts.items() if n > 1}, "an event was published twice"
    assert set(counts) == set(original)
    for event in replayed:
        before = original[event["event_id"]]
        for name in ("recipient", "uid", "uidvalidity", "mailbox", "detected_at", "reason"):
            assert event[name] == before[name], name

    # Run again: the group's progress is at the end; nothing is published twice.
    again = Replay(setup, config, "--to-topic", target).finish()
    assert "reprocess: 0 archive record(s)" in again
    assert len(_replayed(setup, target)) == len(original)
