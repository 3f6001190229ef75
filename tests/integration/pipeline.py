"""Helpers for pipeline tests: sample bounces, the service as a real process, kcat reads.

The service runs as ``python -m bounce_stream run`` in a subprocess (so it can be SIGKILLed);
what it published is read back with kcat under ``isolation.level=read_committed`` and decoded
with fastavro straight from ``schemas/*.avsc`` — independent of bounce-stream's own decoder.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
import yaml

from dev.stack import DovecotServer, KafkaNode, free_port

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = {
    name: fastavro.parse_schema(json.loads((REPO / "schemas" / f"{name}.avsc").read_text()))
    for name in ("bounce_event", "mailbox_checkpoint", "dead_letter")
}


def make_dsn(recipient: str, *, status: str = "5.1.1", n: int = 0) -> bytes:
    """A minimal, standard RFC 3464 DSN for one failed recipient, as Postfix writes it."""
    boundary = f"B{uuid.uuid4().hex}"
    return (
        f"From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)\r\n"
        f"To: bounces@example.test\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{uuid.uuid4().hex}-{n}@mx.sender.test>\r\n"
        f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"<{recipient}>: host mx.example.org said: 550 5.1.1 <{recipient}>: "
        f"Recipient address rejected: User unknown in local recipient table\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.sender.test\r\n"
        f"Arrival-Date: Wed, 25 Nov 2026 09:59:58 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822; {recipient}\r\n"
        f"Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; mx.example.org\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected: "
        f"User unknown in local recipient table\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: news@sender.test\r\nTo: {recipient}\r\nSubject: Hello {n}\r\n"
        f"Message-ID: <orig-{n}@sender.test>\r\nX-Genro-Mail-ID: mail-{n}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def make_not_bounce(n: int = 0) -> bytes:
    """An ordinary human message: not a bounce, must give no event."""
    return (
        f"From: alice@example.org\r\nTo: bounces@example.test\r\nSubject: lunch? {n}\r\n"
        f"Message-ID: <human-{uuid.uuid4().hex}@example.org>\r\n"
        f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nAre you free at noon?\r\n"
    ).encode()


def recipients(prefix: str, count: int, start: int = 0) -> list[str]:
    return [f"{prefix}-{i}@Example.ORG" for i in range(start, start + count)]


@dataclass
class Topics:
    events: str
    checkpoints: str
    dead_letter: str

    @classmethod
    def unique(cls) -> Topics:
        tag = uuid.uuid4().hex[:8]
        return cls(f"t{tag}.events", f"t{tag}.checkpoints", f"t{tag}.dead-letter")


@dataclass
class Setup:
    """One test's world: a Kafka node, a Dovecot user, private topics, a config file."""

    kafka: KafkaNode
    dovecot: DovecotServer
    user: str
    password: str
    workdir: Path
    topics: Topics = field(default_factory=Topics.unique)
    overrides: dict[str, Any] = field(default_factory=dict)
    imap_port: int | None = None  # default: the plain port

    @classmethod
    def create(
        cls,
        kafka: KafkaNode,
        dovecot: DovecotServer,
        user: str,
        password: str,
        root: Path,
        **kwargs: Any,
    ) -> Setup:
        """A Setup with its own fresh work dir under ``root``."""
        workdir = root / f"svc-{uuid.uuid4().hex[:10]}"
        workdir.mkdir()
        return cls(kafka, dovecot, user, password, workdir, **kwargs)

    @property
    def port(self) -> int:
        return self.imap_port or self.dovecot.port

    @property
    def mailbox_id(self) -> str:
        return f"imap://{self.user}@{self.dovecot.host}:{self.port}/INBOX"

    def config(self, *, metrics_port: int, **mailbox: Any) -> Path:
        kafka: dict[str, Any] = {
            "bootstrap_servers": self.kafka.bootstrap,
            "events_topic": self.topics.events,
            "checkpoint_topic": self.topics.checkpoints,
            "dead_letter_topic": self.topics.dead_letter,
            "fenced_backoff_seconds": 2,
            "checkpoint_heartbeat_seconds": 1,
            "retry_initial_seconds": 0.2,
            "retry_max_seconds": 2,
            "transaction_timeout_ms": 20000,
        }
        kafka.update(self.overrides.get("kafka", {}))
        box: dict[str, Any] = {
            "name": "main",
            "host": self.dovecot.host,
            "port": self.port,
            "username": self.user,
            "password_file": str(self.workdir / "imap-password"),
            "tls": False,
            "batch_max_messages": 50,
            "idle_timeout_seconds": 5,
            "poll_interval_seconds": 1,
            "reconnect_initial_seconds": 0.2,
            "reconnect_max_seconds": 2,
        }
        box.update(mailbox)
        (self.workdir / "imap-password").write_text(self.password + "\n")
        config = {
            **(
                {"schema_registry": self.overrides["schema_registry"]}
                if "schema_registry" in self.overrides
                else {}
            ),
            **({"detection": self.overrides["detection"]} if "detection" in self.overrides else {}),
            "kafka": kafka,
            "mailboxes": [box, *self.overrides.get("extra_mailboxes", [])],
            "metrics": {"port": metrics_port},
            "logging": {"format": "json", "level": "INFO"},
            "shutdown_grace_seconds": 5,
        }
        path = self.workdir / f"config-{metrics_port}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def append(self, messages: list[bytes]) -> None:
        self.dovecot.append(self.user, "INBOX", messages)


class ServiceProcess:
    """``bounce-stream run`` as a child process with its own metrics port and log file."""

    def __init__(self, setup: Setup, command: list[str] | None = None, **mailbox: Any) -> None:
        self.port = free_port()
        self.config = setup.config(metrics_port=self.port, **mailbox)
        self.log_path = setup.workdir / f"service-{self.port}.log"
        self._log = self.log_path.open("ab")
        argv = command or [sys.executable, "-m", "bounce_stream"]
        self.proc = subprocess.Popen(
            [*argv, "run", "--config", str(self.config)],
            cwd=setup.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited {self.proc.returncode}:\n{self.log()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"service not ready in {timeout}s:\n{self.log()[-3000:]}")

    def metric(self, name: str) -> float:
        """Sum of all samples of ``name`` on /metrics (0 when absent or not serving yet)."""
        try:
            _, body = self.get("/metrics")
        except OSError:
            return 0.0
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait_for_metric(self, name: str, at_least: float = 1, timeout: float = 30) -> None:
        """Wait until the sum of ``name`` reaches ``at_least``; fail with the log tail if not."""
        deadline = time.monotonic() + timeout
        while self.metric(name) < at_least:
            assert time.monotonic() < deadline, (
                f"{name} stayed below {at_least}:\n{self.log()[-2000:]}"
            )
            time.sleep(0.05)  # one local HTTP GET per round: polling costs next to nothing

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()


def kcat_raw(
    kafka: KafkaNode, topic: str
) -> list[tuple[bytes | None, bytes | None, dict[str, str]]]:
    """(key, value, headers) of every committed record, values as exact bytes."""
    # kcat's JSON mangles binary; use a format with explicit lengths instead.
    res = subprocess.run(
        [
            "kcat",
            "-b",
            kafka.bootstrap,
            "-C",
            "-t",
            topic,
            "-e",
            "-q",
            "-X",
            "isolation.level=read_committed",
            "-o",
            "beginning",
            "-f",
            "%K|%k%S|%s%h\n",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if res.returncode != 0 and b"Unknown topic" in res.stderr:
        return []
    assert res.returncode == 0, res.stderr.decode()
    out = []
    data = res.stdout
    pos = 0
    while pos < len(data):
        bar = data.index(b"|", pos)
        klen = int(data[pos:bar])
        key = data[bar + 1 : bar + 1 + max(klen, 0)] if klen >= 0 else None
        pos = bar + 1 + max(klen, 0)
        bar = data.index(b"|", pos)
        vlen = int(data[pos:bar])
        value = data[bar + 1 : bar + 1 + max(vlen, 0)] if vlen >= 0 else None
        pos = bar + 1 + max(vlen, 0)
        nl = data.index(b"\n", pos)
        headers = dict(h.split("=", 1) for h in data[pos:nl].decode().split(",") if "=" in h)
        pos = nl + 1
        out.append((key, value, headers))
    return out


def decode(value: bytes, schema: str) -> dict[str, Any]:
    """Decode a single-object-encoded value with fastavro and the published .avsc."""
    assert value[:2] == b"\xc3\x01", value[:10]
    (fingerprint,) = struct.unpack_from("<Q", value, 2)
    assert fingerprint != 0
    return fastavro.schemaless_reader(io.BytesIO(value[10:]), SCHEMAS[schema])  # type: ignore[return-value]


def events(setup: Setup) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    return [
        (k.decode(), decode(v, "bounce_event"), h)
        for k, v, h in kcat_raw(setup.kafka, setup.topics.events)
        if k is not None and v is not None
    ]


def dead_letters(setup: Setup) -> list[dict[str, Any]]:
    return [
        decode(v, "dead_letter")
        for _, v, _ in kcat_raw(setup.kafka, setup.topics.dead_letter)
        if v is not None
    ]


def checkpoint(setup: Setup) -> dict[str, Any] | None:
    last = None
    for k, v, _ in kcat_raw(setup.kafka, setup.topics.checkpoints):
        if k is not None and k.decode() == setup.mailbox_id:
            last = decode(v, "mailbox_checkpoint") if v is not None else None
    return last


def wait_for_checkpoint(setup: Setup, last_uid: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    cp = None
    while time.monotonic() < deadline:
        cp = checkpoint(setup)
        if cp is not None and cp["last_uid"] >= last_uid:
            return cp
        # Each round is a kcat run (~0.1 s of its own): a short pause, not a second process.
        time.sleep(0.1)
    raise AssertionError(f"checkpoint did not reach {last_uid} in {timeout}s: {cp}")
