"""A misbehaving IMAP server next to a healthy one, against the real service, Kafka and Dovecot.

The service (a subprocess) serves two mailboxes: ``main`` on the real Dovecot and ``hostile``
on the scripted server of :mod:`tests.hostile.imap_server`. Whatever the hostile server does,
each test checks that the healthy neighbour keeps flowing into Kafka, that the process stays
under its memory bound, that the hostile mailbox's password never reaches the output and that
every output line is JSON; then what the hostile mailbox itself must do (fail visibly with the
right reason, dead-letter, or carry on).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.imap_server import HostileImapServer, Scenario
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    dead_letters,
    decode,
    events,
    kcat_raw,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

MiB = 1 << 20
MAIN_BATCH_BYTES = 4 * MiB
HOSTILE_BATCH_BYTES = 4 * MiB
# The bound: peak RSS < 2 x batch_max_bytes + 100 MB (the larger batch of the two).
RSS_BOUND_MB = 2 * max(MAIN_BATCH_BYTES, HOSTILE_BATCH_BYTES) / MiB + 100
NEIGHBOUR_MESSAGES = 20


@pytest.fixture
def password() -> str:
    """A fresh, recognisable password for the hostile mailbox."""
    return f"hostile-Pa55-{uuid.uuid4().hex}"


class World:
    """The hostile server and the service running beside it."""

    def __init__(self, setup: Setup, server: HostileImapServer) -> None:
        self.setup = setup
        self.server = server
        (setup.workdir / "hostile-password").write_text(server.password + "\n")
        setup.overrides["extra_mailboxes"] = [
            {
                "name": "hostile",
                "host": "127.0.0.1",
                "port": server.port,
                "username": server.username,
                "password_file": str(setup.workdir / "hostile-password"),
                "tls": False,
                "timeout_seconds": 3,
                "reconnect_initial_seconds": 0.2,
                "reconnect_max_seconds": 2,
                "poll_interval_seconds": 1,
                "idle": False,
                "max_message_bytes": MiB,
                "batch_max_bytes": HOSTILE_BATCH_BYTES,
            }
        ]
        self.svc = ServiceProcess(setup, batch_max_bytes=MAIN_BATCH_BYTES)
        self.hostile_id = f"imap://{server.username}@127.0.0.1:{server.port}/INBOX"

    def errors(self, reason: str) -> float:
        """bounce_stream_imap_errors_total of the hostile mailbox for ``reason``."""
        try:
            _, body = self.svc.get("/metrics")
        except OSError:
            return 0.0
        sample = f'bounce_stream_imap_errors_total{{mailbox="hostile",reason="{reason}"}} '
        for line in body.splitlines():
            if line.startswith(sample):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_for_errors(self, reason: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.errors(reason) < 1:
            assert time.monotonic() < deadline, (
                f"no {reason} error counted for the hostile mailbox:\n{self.svc.log()[-3000:]}"
            )
            time.sleep(0.3)

    def neighbour_flows(self) -> None:
        """N bounces appended to the healthy mailbox now all reach Kafka, exactly once."""
        rcpts = recipients(f"main-{uuid.uuid4().hex[:6]}", NEIGHBOUR_MESSAGES)
        self.setup.append([make_dsn(r, n=i) for i, r in enumerate(rcpts)])
        wait_for_checkpoint(self.setup, NEIGHBOUR_MESSAGES, timeout=120)
        published = [k for k, _, _ in events(self.setup) if k.startswith("main-")]
        assert sorted(published) == sorted(r.lower() for r in rcpts)

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.svc.proc.pid}/status").read_text()
        (line,) = [x for x in status.splitlines() if x.startswith("VmHWM:")]
        return int(line.split()[1]) / 1024

    def hostile_checkpoint(self) -> dict[str, Any] | None:
        last = None
        for key, value, _ in kcat_raw(self.setup.kafka, self.setup.topics.checkpoints):
            if key is not None and value is not None and key.decode() == self.hostile_id:
                last = decode(value, "mailbox_checkpoint")
        return last

    def wait_for_hostile_checkpoint(self, last_uid: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while (cp := self.hostile_checkpoint()) is None or cp["last_uid"] < last_uid:
            assert time.monotonic() < deadline, f"hostile checkpoint stuck at {cp}"
            time.sleep(0.5)

    def finish(self) -> str:
        """Stop the service; check the bounds every test shares; return its output."""
        rss = self.peak_rss_mb()
        code = self.svc.stop()
        output = self.svc.log()
        assert code == 0, output[-3000:]
        assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB over {RSS_BOUND_MB:.0f} MB"
        assert self.server.password not in output
        for line in output.splitlines():
            if line.strip():
                json.loads(line)  # every line the service wrote is a JSON object
        return output


@pytest.fixture
def world(setup: Setup, password: str, request: pytest.FixtureRequest) -> Iterator[World]:
    scenario, options = request.param
    server = HostileImapServer(scenario, password, **options).start()
    w = World(setup, server)
    try:
        yield w
    finally:
        if w.svc.proc.poll() is None:
            w.svc.kill()
        server.stop()


def _dsn(name: str) -> bytes:
    return make_dsn(f"{name}@example.org")


def _hostile_events(setup: Setup) -> list[str]:
    return [k for k, _, _ in events(setup) if k.startswith("hostile-")]


def _readyz_names_the_failure(world: World) -> None:
    status, body = world.svc.get("/readyz")
    (line,) = [line for line in body.splitlines() if line.startswith("hostile:")]
    assert status == 503 and line.startswith("hostile: imap unavailable"), body


@pytest.mark.parametrize("world", [(Scenario.SILENT, {})], indirect=True)
def test_server_silent_after_greeting_times_out_visibly(world: World) -> None:
    """A server that greets then goes quiet fails connect by its deadline: logged, counted
    (reason timeout), /readyz names it; the neighbour flows."""
    world.wait_for_errors("timeout")
    _readyz_names_the_failure(world)
    world.neighbour_flows()
    output = world.finish()
    assert '"imap_unavailable"' in output and "timed out" in output
    assert world.server.connections >= 2  # it was retried, not stuck in the first connect


@pytest.mark.parametrize("world", [(Scenario.BYE, {})], indirect=True)
def test_bye_greeting_fails_the_connect_at_once(world: World) -> None:
    """A BYE greeting is a protocol error counted and logged, retried with back-off."""
    world.wait_for_errors("protocol")
    _readyz_names_the_failure(world)
    world.neighbour_flows()
    output = world.finish()
    assert "greeting: BYE" in output


@pytest.mark.parametrize("world", [(Scenario.WRONG_TAG, {})], indirect=True)
def test_wrong_tag_on_login_never_prints_the_password(world: World) -> None:
    """LOGIN answered with a foreign tag: a protocol error whose text (and any asyncio or
    library output) holds neither the password nor the LOGIN command."""
    world.wait_for_errors("protocol")
    deadline = time.monotonic() + 30
    while world.server.logins < 3 and time.monotonic() < deadline:
        time.sleep(0.2)  # a few attempts: the leak used to come on every one
    world.neighbour_flows()
    output = world.finish()
    assert "LOGIN hostile" not in output


@pytest.mark.parametrize(
    "world",
    [(Scenario.GIANT_LITERAL, {"messages": {1: _dsn("hostile-0")}, "literal_bytes": 100 * MiB})],
    indirect=True,
)
def test_giant_literal_is_never_buffered(world: World) -> None:
    """A {999999999} literal (100 MB sent, then silence) is read past, the command times out
    and the connection is dropped; memory stays bounded and the neighbour flows."""
    world.wait_for_errors("timeout", timeout=90)
    world.neighbour_flows()
    assert world.server.literal_sent >= 100 * MiB
    world.finish()


@pytest.mark.parametrize(
    "world",
    [
        (
            Scenario.LYING_SIZE,
            {"messages": {1: _dsn("hostile-0"), 2: _dsn("hostile-1")}, "literal_bytes": 30 * MiB},
        )
    ],
    indirect=True,
)
def test_lying_size_is_dead_lettered_by_reference(world: World) -> None:
    """RFC822.SIZE says 1000, the body is 30 MB: the body is not kept, the message is
    dead-lettered by reference (no bytes, its real size) and the next message is published."""
    world.wait_for_hostile_checkpoint(2)
    world.neighbour_flows()
    dead = [d for d in dead_letters(world.setup) if d["mailbox"] == world.hostile_id]
    assert [(d["uid"], d["raw"], d["size"]) for d in dead] == [(1, b"", 30 * MiB)]
    assert _hostile_events(world.setup) == ["hostile-1@example.org"]
    world.finish()


@pytest.mark.parametrize(
    "world",
    [(Scenario.EXPUNGE_FLOOD, {"messages": {1: _dsn("hostile-0")}, "flood_lines": 50_000})],
    indirect=True,
)
def test_fifty_thousand_expunge_lines_do_not_stop_progress(world: World) -> None:
    """50,000 EXPUNGE lines before every SEARCH answer: the hostile mailbox still publishes."""
    world.wait_for_hostile_checkpoint(1)
    world.neighbour_flows()
    assert _hostile_events(world.setup) == ["hostile-0@example.org"]
    assert world.errors("protocol") == 0
    world.finish()


@pytest.mark.parametrize(
    "world", [(Scenario.HUGE_UID, {"messages": {1: _dsn("hostile-0")}})], indirect=True
)
def test_uid_past_32_bits_is_a_protocol_error(world: World) -> None:
    """A SEARCH answer with UID 2^70 is refused as a protocol error (logged, counted), never
    checkpointed; the neighbour flows."""
    world.wait_for_errors("protocol")
    world.neighbour_flows()
    output = world.finish()
    assert "UID outside 1..2^32-1" in output
    assert world.hostile_checkpoint() is None or world.hostile_checkpoint()["last_uid"] < 2**32


@pytest.mark.parametrize(
    "world",
    [(Scenario.BAD_SEARCH, {"messages": {n: _dsn(f"hostile-{n}") for n in (1, 2, 3)}})],
    indirect=True,
)
def test_non_numeric_search_token_is_a_protocol_error(world: World) -> None:
    """One non-numeric token in a SEARCH line is a protocol error, never a shorter UID list
    (which would checkpoint past the UIDs it dropped)."""
    world.wait_for_errors("protocol")
    world.neighbour_flows()
    output = world.finish()
    assert "SEARCH response holds a token that is not a UID" in output
    assert _hostile_events(world.setup) == []
