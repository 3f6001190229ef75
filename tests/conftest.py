"""Fixtures that run the REAL servers from dev/stack.py (no mocks): Kafka (KRaft) and Dovecot,
shared by every test folder (integration, hostile) in one pytest session. Under pytest-xdist
(scripts/test.sh runs ``-n 3 --dist loadfile``) each worker process is its own session, with
its own shared servers, started when its first test needs them; a file stays on one worker.

Session-scoped: ``kafka`` (a KafkaNode) and ``dovecot`` (a DovecotServer), started once, in work
dirs under one session dir in /tmp (0755, so Dovecot's unprivileged processes can read it;
pytest's own tmp_path is 0700). Everything is stopped and removed at the end of the session;
set BOUNCE_STREAM_KEEP_STACK=1 to keep the dir (server logs) for a post-mortem.

Tests that break a server on purpose (restart, kill -9) should not share the session broker:
use ``kafka_factory`` / ``dovecot_factory`` to get private instances, stopped when the test
module ends (an idle KRaft broker still costs CPU and ~0.5 GB: none outlives its module).
Function-scoped ``imap_user`` gives each test a fresh, empty mailbox on the shared Dovecot.

Prerequisites come from ``scripts/bootstrap.sh``; a missing one fails the fixture loudly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dev.stack import DovecotServer, KafkaNode, start_dovecot, start_kafka
from tests.integration.pipeline import ServiceProcess, Setup

IMAP_USER = "bounces@example.test"
IMAP_PASSWORD = "bounces-secret"
USER_BATCH = 20


@pytest.fixture(scope="session")
def stack_dir() -> Iterator[Path]:
    """A short 0755 session dir under /tmp holding every server's work dir and logs."""
    path = Path(tempfile.mkdtemp(prefix="bs-it-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    if os.environ.get("BOUNCE_STREAM_KEEP_STACK") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def kafka_factory(stack_dir: Path) -> Iterator[Callable[..., KafkaNode]]:
    """Start a private Kafka node (``factory(sasl=False)``); stopped when the module ends."""
    nodes: list[KafkaNode] = []

    def factory(*, sasl: bool = False) -> KafkaNode:
        node = start_kafka(stack_dir / f"kafka-{uuid.uuid4().hex[:8]}", sasl=sasl)
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.stop()


@pytest.fixture(scope="module")
def dovecot_factory(stack_dir: Path) -> Iterator[Callable[..., DovecotServer]]:
    """Start a private Dovecot (``factory(users, tls=False)``); stopped when the module ends."""
    servers: list[DovecotServer] = []

    def factory(users: dict[str, str], *, tls: bool = False) -> DovecotServer:
        server = start_dovecot(stack_dir / f"dovecot-{uuid.uuid4().hex[:8]}", users, tls=tls)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def kafka(stack_dir: Path) -> Iterator[KafkaNode]:
    """The shared single-node KRaft broker (PLAINTEXT on 127.0.0.1); do not restart it."""
    node = start_kafka(stack_dir / "kafka-shared")
    yield node
    node.stop()


@pytest.fixture(scope="session")
def dovecot(stack_dir: Path) -> Iterator[DovecotServer]:
    """The shared plain-IMAP Dovecot with user ``IMAP_USER`` / ``IMAP_PASSWORD``."""
    server = start_dovecot(stack_dir / "dovecot-shared", {IMAP_USER: IMAP_PASSWORD})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _unused_users(dovecot: DovecotServer) -> list[tuple[str, str]]:
    """Users registered on the shared Dovecot and never handed out yet (see ``imap_user``)."""
    return []


@pytest.fixture
def imap_user(dovecot: DovecotServer, _unused_users: list[tuple[str, str]]) -> tuple[str, str]:
    """A fresh user (empty mailbox) on the shared Dovecot: ``(user, password)``.

    Users are registered USER_BATCH at a time (one passwd write and one ~0.5 s wait for Dovecot
    to re-read it, instead of one per test); each is handed to one test only and has never
    signed in: the batch's sign-in probe uses an extra user that is never handed out.
    """
    if not _unused_users:
        batch = {
            f"t-{uuid.uuid4().hex[:10]}@example.test": uuid.uuid4().hex for _ in range(USER_BATCH)
        }
        probe = f"probe-{uuid.uuid4().hex[:10]}@example.test"
        dovecot.add_users({**batch, probe: uuid.uuid4().hex})  # probes the last one
        _unused_users.extend(batch.items())
    return _unused_users.pop()


@pytest.fixture
def setup(
    kafka: KafkaNode, dovecot: DovecotServer, imap_user: tuple[str, str], stack_dir: Path
) -> Setup:
    """One test's world: the shared Kafka, a fresh Dovecot user, private topics."""
    user, password = imap_user
    return Setup.create(kafka, dovecot, user, password, stack_dir)


@pytest.fixture
def services() -> Iterator[list[ServiceProcess]]:
    """Services a test starts (append them); each is stopped when the test ends."""
    started: list[ServiceProcess] = []
    yield started
    for svc in started:
        svc.stop()
