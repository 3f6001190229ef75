"""The classification pool inside the real service (real Kafka + Dovecot): a message whose
classification outlives the deadline is dead-lettered with cause timeout, the stuck worker is
replaced, and every other message, in this mailbox and the next, is published."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    dead_letters,
    decode,
    events,
    kcat_raw,
    make_dsn,
    recipients,
)

pytestmark = pytest.mark.integration

TIMEOUT_S = 12.0
OTHER = "Other"


def classify_workers(service_pid: int) -> list[int]:
    """Pids of the classification worker processes whose parent is ``service_pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == service_pid and b"classifying" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def last_uid(setup: Setup, folder: str) -> int:
    """The committed checkpoint of ``folder`` of the test user (0 before the first commit)."""
    mailbox_id = setup.mailbox_id.rsplit("/", 1)[0] + "/" + folder
    last = 0
    for key, value, _ in kcat_raw(setup.kafka, setup.topics.checkpoints):
        if key is not None and value is not None and key.decode() == mailbox_id:
            last = decode(value, "mailbox_checkpoint")["last_uid"]
    return last


def test_stuck_classification_is_dead_lettered_as_timeout_and_neighbours_publish(
    setup: Setup, services: list[ServiceProcess]
) -> None:
    """One worker stops answering: its message is a timeout dead letter, the rest publish."""
    setup.overrides["detection"] = {"workers": 2, "timeout_seconds": TIMEOUT_S}
    setup.overrides["extra_mailboxes"] = [
        {
            "name": "other",
            "host": setup.dovecot.host,
            "port": setup.dovecot.port,
            "username": setup.user,
            "password_file": str(setup.workdir / "imap-password"),
            "folder": OTHER,
            "tls": False,
            "poll_interval_seconds": 1,
            "idle_timeout_seconds": 5,
        }
    ]
    warm = recipients("warm", 1)
    setup.append([make_dsn(warm[0])])
    setup.dovecot.append(setup.user, OTHER, [])
    svc = ServiceProcess(setup)
    services.append(svc)
    svc.wait_ready()
    assert checkpoint_reaches(setup, "INBOX", 1, timeout=60)
    deadline = time.monotonic() + 30
    while len(workers := classify_workers(svc.proc.pid)) < 2:
        assert time.monotonic() < deadline, f"workers: {workers}"
        time.sleep(0.1)
    stuck_pid = workers[0]
    os.kill(stuck_pid, signal.SIGSTOP)  # it now holds the next message it is given, silently

    main_rcpts, other_rcpts = recipients("main", 6), recipients("other", 6)
    started = time.monotonic()
    setup.append([make_dsn(r, n=i) for i, r in enumerate(main_rcpts)])
    setup.dovecot.append(setup.user, OTHER, [make_dsn(r, n=i) for i, r in enumerate(other_rcpts)])

    # Whichever mailbox's message went to the stopped worker, the other one commits all of its
    # messages long before the deadline: it is not blocked by its neighbour's stuck message.
    while True:
        done = {f: last_uid(setup, f) for f in ("INBOX", OTHER)}
        if done["INBOX"] >= 7 or done[OTHER] >= 6:
            break
        assert time.monotonic() - started < TIMEOUT_S - 2, f"no mailbox finished: {done}"
        time.sleep(0.2)
    assert svc.metric("bounce_stream_classify_timeouts_total") == 0

    assert checkpoint_reaches(setup, "INBOX", 7, timeout=60)
    assert checkpoint_reaches(setup, OTHER, 6, timeout=60)
    dead = dead_letters(setup)
    assert len(dead) == 1, dead
    assert "timeout" in dead[0]["error"] and dead[0]["raw"]
    assert time.monotonic() - started >= TIMEOUT_S - 1
    published = Counter(key for key, _, _ in events(setup))
    expected = [r.lower() for r in warm + main_rcpts + other_rcpts]
    missing = [r for r in expected if r not in published]
    assert len(missing) == 1 and missing[0].encode() in dead[0]["raw"].lower()
    assert all(n == 1 for n in published.values())
    assert svc.metric("bounce_stream_classify_timeouts_total") == 1
    assert _dead_by_cause(svc, "timeout") == 1
    assert _wait_gone([stuck_pid])
    replaced = classify_workers(svc.proc.pid)
    assert len(replaced) == 2 and stuck_pid not in replaced

    # Killing the service with SIGKILL leaves no worker behind.
    svc.kill()
    assert _wait_gone(replaced)


def checkpoint_reaches(setup: Setup, folder: str, uid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while last_uid(setup, folder) < uid:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


def _dead_by_cause(svc: ServiceProcess, cause: str) -> float:
    _, body = svc.get("/metrics")
    total = 0.0
    for line in body.splitlines():
        if line.startswith("bounce_stream_dead_lettered_messages_total{") and (
            f'cause="{cause}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait_gone(pids: list[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False
