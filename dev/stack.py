"""Real-server development/test stack: a single-node KRaft Kafka and a private Dovecot.

Everything binds to 127.0.0.1 on free ports picked at start. Install the prerequisites once
with ``scripts/bootstrap.sh`` (Debian packages, the venv and the cached Kafka classpath).

Library use (pytest fixtures)::

    node = start_kafka(workdir / "kafka")            # node.bootstrap == "127.0.0.1:PORT"
    imap = start_dovecot(workdir / "dovecot", {"bounces@example.test": "secret"})
    imap.append("bounces@example.test", "INBOX", [b"Subject: x\\r\\n\\r\\nbody\\r\\n"])
    ...
    imap.stop(); node.stop()

CLI::

    python -m dev.stack up   [--dir DIR]   # starts both, writes DIR/stack.env, prints it
    python -m dev.stack down [--dir DIR]   # stops what `up` started (pids recorded in DIR)

Stdlib only, except ``trustme`` (imported lazily, only for TLS).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_STACK_DIR",
    "DovecotServer",
    "KafkaNode",
    "StackError",
    "free_port",
    "kafka_lib_dir",
    "start_dovecot",
    "start_kafka",
]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STACK_DIR = Path("/tmp/bounce-stream-stack")
KAFKA_READY_TIMEOUT = 90.0
DOVECOT_READY_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
# JVM flags of the test broker, tuned for start-up on a small shared machine: the C1 compiler
# only and the serial collector (one broker, light load). Measured on 2 busy cores: start
# ~5.8 s -> ~3.5 s, restart ~4.6 s -> ~3.1 s, broker CPU to ready ~4.4 s -> ~2.6 s.
KAFKA_JVM_FLAGS: tuple[str, ...] = (
    "-Xms64m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
)
# The JVM flags Kafka's own start scripts give a broker (kafka-server-start.sh's heap,
# kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS): what a production broker runs with. Start-up
# is slower, but once warm a transaction costs ~6 ms here against ~11-25 ms with the flags
# above; the latency benchmarks use these.
KAFKA_PRODUCTION_JVM_FLAGS: tuple[str, ...] = (
    "-Xms1g",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)

DEFAULT_IMAP_USER = "bounces@example.test"
DEFAULT_IMAP_PASSWORD = "bounces-secret"

SASL_MECHANISM = "SCRAM-SHA-512"
SASL_USERS = {"alice": "alice-secret", "bob": "bob-secret"}


class StackError(RuntimeError):
    """A server of the dev stack could not be set up, started or stopped."""


# --------------------------------------------------------------------------- helpers


def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (REPO / "dev" / "versions.env").read_text().splitlines():
        m = re.fullmatch(r"\s*([A-Z0-9_]+)=(\S*)\s*", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def kafka_version() -> str:
    """The kafka_2.13 version in use (``BOUNCE_STREAM_KAFKA_VERSION`` or dev/versions.env)."""
    return os.environ.get("BOUNCE_STREAM_KAFKA_VERSION") or _versions()["KAFKA_VERSION"]


def kafka_lib_dir() -> Path:
    """Directory holding the broker jars resolved by scripts/bootstrap.sh."""
    explicit = os.environ.get("BOUNCE_STREAM_KAFKA_LIB")
    if explicit:
        lib = Path(explicit)
    else:
        cache = Path(
            os.environ.get("BOUNCE_STREAM_CACHE") or Path.home() / ".cache" / "bounce-stream"
        )
        lib = cache / f"kafka-{kafka_version()}" / "lib"
    if not any(lib.glob("kafka_2.13-*.jar")):
        raise StackError(
            f"Kafka broker jars not found in {lib}: run scripts/bootstrap.sh first "
            "(it resolves them from Maven Central into the cache)"
        )
    return lib


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _pid_cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _terminate(
    pid: int, timeout: float = STOP_TIMEOUT, *, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. Silently done if already gone."""
    if not _pid_alive(pid):
        if proc is not None:
            proc.poll()
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return
        if proc is None and not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait(10)
    else:
        end = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise StackError(
            "java not found: Kafka 4.x needs Java 17+ (scripts/bootstrap.sh checks it)"
        )
    return java


def _kafka_uuid() -> str:
    """Kafka's Uuid.randomUuid().toString(): URL-safe base64 of 16 random bytes, no padding."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


# --------------------------------------------------------------------------- Kafka

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.reqlog.name = kafka.request.logger
logger.reqlog.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


@dataclass
class KafkaNode:
    """A single-node KRaft Kafka (combined broker + controller) running as a child process."""

    workdir: Path
    port: int
    controller_port: int
    sasl_port: int | None = None
    sasl_ssl_port: int | None = None
    ca_pem_path: Path | None = None
    jvm_flags: tuple[str, ...] = KAFKA_JVM_FLAGS
    pid: int | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        """PLAINTEXT bootstrap servers, ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        """SASL_PLAINTEXT (SCRAM-SHA-512) bootstrap servers; only with ``sasl=True``."""
        if self.sasl_port is None:
            raise StackError("this Kafka node was started without sasl=True")
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """SASL_SSL (SCRAM-SHA-512 over TLS, cert for IP 127.0.0.1 signed by ``ca_pem_path``)."""
        if self.sasl_ssl_port is None:
            raise StackError("this Kafka node was started without sasl=True")
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def sasl_mechanism(self) -> str:
        return SASL_MECHANISM

    @property
    def sasl_users(self) -> dict[str, str]:
        """SCRAM users created at format time (name -> password)."""
        return dict(SASL_USERS)

    @property
    def log_path(self) -> Path:
        return self.workdir / "kafka.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def running(self) -> bool:
        return self.pid is not None and _pid_alive(self.pid)

    def _launch(self) -> None:
        lib = kafka_lib_dir()
        cmd = [
            _java(),
            *self.jvm_flags,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            "-cp",
            f"{lib}/*",
            "kafka.Kafka",
            str(self.config_path),
        ]
        with self.log_path.open("ab") as log:
            log.write(
                f"\n===== starting at {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n".encode()
            )
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # survives `python -m dev.stack up` exiting
            )
        self.pid = self._proc.pid
        (self.workdir / "kafka.pid").write_text(f"{self.pid}\n")

    def _wait_ready(self, timeout: float = KAFKA_READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        kcat = shutil.which("kcat")
        while time.monotonic() < deadline:
            if not self.running:
                raise StackError(
                    f"Kafka exited during start-up (log {self.log_path}):\n{_tail(self.log_path)}"
                )
            if _port_open(self.port) and self._metadata_ok(kcat):
                return
            time.sleep(0.25)
        tail = _tail(self.log_path)
        self.kill()
        raise StackError(
            f"Kafka not ready on {self.bootstrap} within {timeout:.0f} s "
            f"(log {self.log_path}):\n{tail}"
        )

    def _metadata_ok(self, kcat: str | None) -> bool:
        """An admin-level request succeeds: metadata (topic list) with this broker in it."""
        if kcat is None:
            raise StackError("kcat not found: run scripts/bootstrap.sh (Debian package kcat)")
        try:
            out = subprocess.run(
                [kcat, "-L", "-J", "-b", self.bootstrap, "-m", "3"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
        if out.returncode != 0:
            return False
        try:
            meta = json.loads(out.stdout)
        except ValueError:
            return False
        return bool(meta.get("brokers")) and "topics" in meta

    def stop(self) -> None:
        """Graceful stop (SIGTERM, SIGKILL after 30 s). Safe to call twice."""
        if self.pid is not None:
            _terminate(self.pid, proc=self._proc)
        self._forget()

    def kill(self) -> None:
        """SIGKILL, no clean shutdown (crash scenarios). Safe to call twice."""
        if self.pid is not None and _pid_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            if self._proc is not None:
                self._proc.wait(10)
            else:
                end = time.monotonic() + 10
                while _pid_alive(self.pid) and time.monotonic() < end:
                    time.sleep(0.05)
        self._forget()

    def _forget(self) -> None:
        # Drop the pid once the process is gone, so a recycled pid is never mistaken for it.
        if self.pid is not None and not _pid_alive(self.pid):
            self.pid = None
            with contextlib.suppress(FileNotFoundError):
                (self.workdir / "kafka.pid").unlink()
        self._proc = None

    def start(self, timeout: float = KAFKA_READY_TIMEOUT) -> None:
        """(Re)start on the same ports and data dir and wait until ready. No-op if running."""
        if self.running:
            return
        self._launch()
        self._wait_ready(timeout)

    def restart(self, timeout: float = KAFKA_READY_TIMEOUT) -> None:
        """Stop (gracefully) and start again on the SAME ports and data dir."""
        self.stop()
        self.start(timeout)


def _kafka_properties(node: KafkaNode) -> str:
    listeners = [f"PLAINTEXT://127.0.0.1:{node.port}"]
    advertised = [f"PLAINTEXT://127.0.0.1:{node.port}"]
    if node.sasl_port is not None:
        listeners.append(f"SASL_PLAINTEXT://127.0.0.1:{node.sasl_port}")
        advertised.append(f"SASL_PLAINTEXT://127.0.0.1:{node.sasl_port}")
    if node.sasl_ssl_port is not None:
        listeners.append(f"SASL_SSL://127.0.0.1:{node.sasl_ssl_port}")
        advertised.append(f"SASL_SSL://127.0.0.1:{node.sasl_ssl_port}")
    listeners.append(f"CONTROLLER://127.0.0.1:{node.controller_port}")
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{node.controller_port}",
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "log.dirs": str(node.workdir / "data"),
        # Mandatory on one node, or transactions / consumer groups hang (defaults 3/3/2).
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Speed-ups.
        "transaction.state.log.num.partitions": "1",
        "offsets.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Lets tests give a consumer group a short session timeout (default minimum 6 s), so a
        # member killed with SIGKILL is replaced after seconds; clients' defaults are unchanged.
        "group.min.session.timeout.ms": "1000",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "auto.create.topics.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.segment.bytes": str(64 * 1024 * 1024),
        # After kill -9 the restarted broker must wait for its old registration's session to
        # expire (DUPLICATE_BROKER_REGISTRATION): 9 s by default, ~4 s with these.
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "500",
        # Compaction visible quickly in tests of the checkpoint topic.
        "log.cleaner.backoff.ms": "1000",
    }
    jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    if node.sasl_port is not None:
        props["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] = SASL_MECHANISM
        props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"] = jaas
    if node.sasl_ssl_port is not None:
        props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] = SASL_MECHANISM
        props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = jaas
        props["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
        props["listener.name.sasl_ssl.ssl.keystore.location"] = str(node.workdir / "keystore.pem")
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _write_kafka_tls(workdir: Path) -> Path:
    """trustme CA + broker cert (SAN IP:127.0.0.1, DNS:localhost) as a Kafka PEM keystore."""
    import trustme  # noqa: PLC0415 - optional, test-only dependency
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    # Kafka's PEM keystore wants an unencrypted PKCS#8 key ("BEGIN PRIVATE KEY") + the chain.
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    keystore = workdir / "keystore.pem"
    keystore.write_bytes(pkcs8 + b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    keystore.chmod(0o600)
    ca_path = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return ca_path


def start_kafka(
    workdir: Path, *, sasl: bool = False, jvm_flags: tuple[str, ...] = KAFKA_JVM_FLAGS
) -> KafkaNode:
    """Format and start a single-node KRaft Kafka in ``workdir``; return once it serves metadata.

    ``sasl=True`` adds, next to PLAINTEXT, a SASL_PLAINTEXT listener (``node.sasl_bootstrap``)
    and a SASL_SSL one (``node.sasl_ssl_bootstrap``, CA in ``node.ca_pem_path``), both
    SCRAM-SHA-512 with the users in ``SASL_USERS``. Raises StackError with the log tail on
    failure. ``jvm_flags``: the broker JVM's (the test suite's start-up-tuned flags by default;
    ``KAFKA_PRODUCTION_JVM_FLAGS`` for latency measurements).
    """
    workdir = Path(workdir).resolve()
    if (workdir / "data" / "meta.properties").exists():
        raise StackError(f"{workdir} already holds a formatted Kafka; use a fresh directory")
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            return _start_kafka_once(workdir, sasl=sasl, jvm_flags=jvm_flags)
        except StackError:
            # Another process took one of the free ports between pick and bind: go again
            # from scratch (the controller port is baked into the formatted storage).
            log = workdir / "kafka.log"
            in_use = log.exists() and "Address already in use" in log.read_text(errors="replace")
            if not in_use or attempt == 2:
                raise
            shutil.rmtree(workdir / "data", ignore_errors=True)
            (workdir / "kafka.log").rename(workdir / f"kafka.log.bind-failure-{attempt}")
    raise AssertionError("unreachable")


def _start_kafka_once(workdir: Path, *, sasl: bool, jvm_flags: tuple[str, ...]) -> KafkaNode:
    ports: set[int] = set()
    while len(ports) < 4:
        ports.add(free_port())
    port, ctrl, sasl_port, sasl_ssl_port = sorted(ports)
    node = KafkaNode(workdir=workdir, port=port, controller_port=ctrl, jvm_flags=jvm_flags)
    if sasl:
        node.sasl_port, node.sasl_ssl_port = sasl_port, sasl_ssl_port
        node.ca_pem_path = _write_kafka_tls(workdir)
    node.config_path.write_text(_kafka_properties(node))
    (workdir / "log4j2.properties").write_text(_LOG4J2)
    fmt = [
        _java(),
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}",
        "-cp",
        f"{kafka_lib_dir()}/*",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _kafka_uuid(),
        "-c",
        str(node.config_path),
        "--standalone",
    ]
    if sasl:
        for name, password in SASL_USERS.items():
            fmt += ["--add-scram", f"{SASL_MECHANISM}=[name={name},password={password}]"]
    with node.log_path.open("ab") as log:
        log.write(b"===== kafka.tools.StorageTool format\n")
        log.flush()
        res = subprocess.run(
            fmt,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=120,
        )
    if res.returncode != 0:
        raise StackError(
            f"Kafka storage format failed (exit {res.returncode}, log {node.log_path}):\n"
            f"{_tail(node.log_path)}"
        )
    node.start()
    return node


# --------------------------------------------------------------------------- Dovecot


def _dovecot_ids() -> tuple[int, int]:
    try:
        return pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
    except KeyError as exc:
        raise StackError(
            "user/group 'dovecot' missing: run scripts/bootstrap.sh (Debian dovecot-imapd)"
        ) from exc


def _make_home(workdir: Path, user: str) -> None:
    if not user or "/" in user or user.startswith(".") or ":" in user or user != user.strip():
        raise StackError(f"invalid IMAP user name {user!r}")
    uid, gid = _dovecot_ids()
    h = workdir / "home" / user
    h.mkdir(exist_ok=True)
    os.chown(h, uid, gid)
    h.chmod(0o700)


def _write_passwd(workdir: Path, users: dict[str, str]) -> None:
    _, gid = _dovecot_ids()
    passwd = workdir / "passwd"
    tmp = workdir / "passwd.tmp"
    tmp.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
    os.chown(tmp, 0, gid)
    tmp.chmod(0o640)
    tmp.replace(passwd)  # atomic: the auth process never sees a half-written file


def _check_traversable(path: Path) -> None:
    """Dovecot's unprivileged processes must reach files under ``path``."""
    for p in [path, *path.parents]:
        if not os.stat(p).st_mode & 0o001:
            raise StackError(
                f"{p} is not world-traversable (mode {oct(os.stat(p).st_mode & 0o777)}): Dovecot "
                f"runs as user 'dovecot' and cannot reach {path}. Use a 0755 dir under /tmp, "
                "e.g. tempfile.mkdtemp() + chmod 0755 (pytest's tmp_path is 0700)."
            )


@dataclass
class DovecotServer:
    """A private Dovecot IMAP server (``dovecot -c FILE``) for a fixed set of users."""

    workdir: Path
    port: int
    users: dict[str, str]
    tls_port: int | None = None
    ca_pem_path: Path | None = None
    host: str = "127.0.0.1"
    # Set: the oauth2 passdb (XOAUTH2, OAUTHBEARER) checks tokens at this RFC 7662 endpoint.
    oauth2_introspection_url: str | None = field(default=None, repr=False)
    # Master pid remembered at start: stop() still works if the work dir was deleted under us.
    _master_pid: int | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.workdir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "dovecot.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / "run" / "master.pid"

    @property
    def tls(self) -> bool:
        return self.tls_port is not None

    @property
    def pid(self) -> int | None:
        """The master's pid while it runs, else None."""
        try:
            pid: int | None = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            pid = self._master_pid
        if pid is not None and str(self.config_path) in _pid_cmdline(pid):
            return pid
        return None

    def maildir(self, user: str) -> Path:
        """The user's Maildir root (INBOX); folder F lives in ``maildir(user) / ('.' + F)``."""
        return self.workdir / "home" / user / "Maildir"

    def ssl_context(self) -> ssl.SSLContext:
        """Client context trusting this server's CA (TLS servers only)."""
        if self.ca_pem_path is None:
            raise StackError("this Dovecot was started without tls=True")
        return ssl.create_default_context(cafile=str(self.ca_pem_path))

    # -- lifecycle

    def stop(self) -> None:
        """Stop the master process (and with it every child). Safe to call twice."""
        pid = self.pid  # None unless it is this config's dovecot master
        if pid is not None:
            _terminate(pid, timeout=10)
        self._master_pid = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()

    def _doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            ["doveadm", "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if check and res.returncode != 0:
            raise StackError(
                f"doveadm {' '.join(args)} failed (exit {res.returncode}): "
                f"{res.stderr.strip() or res.stdout.strip()}"
            )
        return res

    # -- test helpers

    def add_user(self, user: str, password: str) -> None:
        """Add (or re-password) a user while running; returns once the user can log in."""
        self.add_users({user: password})

    def add_users(self, users: dict[str, str]) -> None:
        """Add (or re-password) users while running, with one passwd write and one wait.

        Dovecot re-reads the passwd file when it changes, but checks at most once a second, so
        a login right after the write can still be refused: wait until one succeeds.
        """
        for user, password in users.items():
            _make_home(self.workdir, user)
            self.users[user] = password
        _write_passwd(self.workdir, self.users)
        # Dovecot's passwd-file stats the file at most once per wall-clock second (its
        # ioloop_time): a sign-in in the second of the write may still get the old file,
        # and a refused one costs auth_failure_delay (2 s). Probe from the next second on.
        time.sleep(1.01 - time.time() % 1)
        deadline = time.monotonic() + 10
        while True:
            probe = _RawImap(self, next(reversed(users)))
            try:
                probe.__enter__()
                return
            except StackError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            finally:
                probe.__exit__(None, None, None)

    def kick(self, user: str) -> None:
        """Drop every IMAP connection of ``user`` (server side), like a network cut."""
        res = self._doveadm("kick", user, check=False)
        # exit 68 (EX_NOUSER-ish) = nobody of that name connected: nothing to drop.
        if res.returncode not in (0, 68):
            raise StackError(f"doveadm kick {user} failed: {res.stderr.strip()}")
        # Wait until the imap processes of that user are really gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            who = self._doveadm("who", "-1", user, check=False)
            if user not in who.stdout:
                return
            time.sleep(0.05)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        res = self._doveadm("-f", "flow", "mailbox", "status", "-u", user, "uidvalidity", folder)
        m = re.search(r"uidvalidity=(\d+)", res.stdout)
        if not m:
            raise StackError(f"unexpected doveadm mailbox status output: {res.stdout!r}")
        return int(m.group(1))

    def recreate_folder(
        self, user: str, folder: str = "INBOX", *, keep_messages: bool = False
    ) -> int:
        """Give ``folder`` a NEW UIDVALIDITY, as if the mailbox had been deleted and recreated.

        Kicks the user's sessions, removes the folder's uidlist and index files (and, unless
        ``keep_messages``, its messages), and returns the new UIDVALIDITY. Works for INBOX too
        (which IMAP/doveadm cannot delete). With ``keep_messages=True`` the existing messages
        are renumbered from UID 1 in the new UID space.
        """
        before = self.uidvalidity(user, folder)
        self.kick(user)
        box = self.maildir(user) if folder.upper() == "INBOX" else self.maildir(user) / f".{folder}"
        if not box.is_dir():
            raise StackError(f"no such folder {folder!r} for {user} ({box})")
        for f in box.iterdir():
            if f.is_file() and (f.name == "dovecot-uidlist" or f.name.startswith("dovecot.index")):
                f.unlink()
        if not keep_messages:
            for sub in ("cur", "new", "tmp"):
                for f in (box / sub).glob("*"):
                    f.unlink()
        after = self.uidvalidity(user, folder)
        if after == before:
            raise StackError(f"UIDVALIDITY of {user}/{folder} did not change ({before})")
        return after

    def append(self, user: str, folder: str, messages: Sequence[bytes] | Iterable[bytes]) -> None:
        """Append ``messages`` to ``folder`` (created if missing) fast, over one IMAP session.

        Uses MULTIAPPEND with non-synchronising literals (LITERAL+), <= 200 messages / 8 MiB a
        command, so a batch costs one round trip instead of one per message. UIDs follow the
        given order.
        """
        with _RawImap(self, user) as imap:
            if folder.upper() != "INBOX":
                imap.command(f"CREATE {_quote(folder)}", ok_codes=("OK", "NO"))
            batch: list[bytes] = []
            size = 0
            for msg in messages:
                batch.append(msg)
                size += len(msg)
                if len(batch) >= 200 or size >= 8 * 1024 * 1024:
                    imap.multiappend(folder, batch)
                    batch, size = [], 0
            if batch:
                imap.multiappend(folder, batch)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _RawImap:
    """Minimal pipelining IMAP client for bulk loads (imaplib cannot MULTIAPPEND/LITERAL+)."""

    def __init__(self, server: DovecotServer, user: str) -> None:
        self.server = server
        self.user = user
        self.tag = 0
        self.sock: socket.socket | ssl.SSLSocket | None = None
        self.buf = b""

    def __enter__(self) -> _RawImap:
        raw = socket.create_connection(
            (self.server.host, self.server.tls_port or self.server.port), 30
        )
        if self.server.tls:
            self.sock = self.server.ssl_context().wrap_socket(raw, server_hostname=self.server.host)
        else:
            self.sock = raw
        greeting = self._line()
        if not greeting.startswith(b"* OK"):
            raise StackError(f"unexpected IMAP greeting {greeting!r}")
        self.command(f"LOGIN {_quote(self.user)} {_quote(self.server.users[self.user])}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError, StackError):
                self.command("LOGOUT", ok_codes=("OK", "BYE"))
            self.sock.close()
            self.sock = None

    def _line(self) -> bytes:
        assert self.sock is not None
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise StackError("IMAP connection closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _send(self, data: bytes) -> str:
        assert self.sock is not None
        self.tag += 1
        tag = f"S{self.tag}"
        self.sock.sendall(tag.encode() + b" " + data + b"\r\n")
        return tag

    def _wait(self, tag: str, ok_codes: tuple[str, ...] = ("OK",)) -> bytes:
        prefix = tag.encode() + b" "
        while True:
            line = self._line()
            if line.startswith(prefix):
                status = line[len(prefix) :].split(b" ", 1)[0].decode()
                if status not in ok_codes:
                    raise StackError(f"IMAP command {tag} failed: {line.decode(errors='replace')}")
                return line

    def command(self, text: str, ok_codes: tuple[str, ...] = ("OK",)) -> bytes:
        return self._wait(self._send(text.encode()), ok_codes)

    def multiappend(self, folder: str, messages: list[bytes]) -> None:
        parts = [b"APPEND " + _quote(folder).encode()]
        for msg in messages:
            parts.append(b" {%d+}\r\n" % len(msg) + msg)
        self._wait(self._send(b"".join(parts)))


def _dovecot_conf(server: DovecotServer, cert: Path | None, key: Path | None) -> str:
    w = server.workdir
    tls_listener = ""
    if server.tls_port is not None:
        tls_listener = f"""
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.tls_port}
    ssl = yes
  }}"""
    else:
        tls_listener = """
  inet_listener imaps {
    port = 0
  }"""
    oauth2_mechanisms = oauth2_passdb = ""
    if server.oauth2_introspection_url is not None:
        oauth2_mechanisms = " oauthbearer xoauth2"
        oauth2_passdb = f"""
passdb {{
  driver = oauth2
  mechanisms = oauthbearer xoauth2
  args = {w}/dovecot-oauth2.conf.ext
}}"""
    ssl_block = "ssl = no\n"
    if cert is not None and key is not None:
        ssl_block = (
            f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\nssl_min_protocol = TLSv1.2\n"
        )
    return f"""# generated by dev/stack.py -- private test instance, not the system Dovecot
protocols = imap
listen = 127.0.0.1
base_dir = {w}/run
state_dir = {w}/state
log_path = {w}/dovecot.log
info_log_path = {w}/dovecot.log
debug_log_path = {w}/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
mail_location = maildir:~/Maildir
# Throw-away test data: no fsync per message (bulk appends ~several times faster).
mail_fsync = never
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
{ssl_block}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {w}/passwd
}}{oauth2_passdb}
# allow_all_users: the passwd-file passdb above only serves sign-ins (mechanisms =), so a
# userdb-only lookup (doveadm -u, dovecot-lda -d) must not ask it whether the user exists.
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={w}/home/%u allow_all_users=yes
}}
# No auth penalty (anvil's delay of up to 15 s for every sign-in from an IP that failed
# before): tests that present a wrong password or a refused token on purpose must not slow
# every later sign-in from 127.0.0.1. Dovecot's fixed auth_failure_delay stays.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {server.port}
  }}{tls_listener}
  process_min_avail = 1
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
  imap_hibernate_timeout = 0
}}
"""


def _write_oauth2_conf(workdir: Path, introspection_url: str) -> None:
    """The oauth2 passdb's settings: RFC 7662 introspection by POST, Basic credentials in
    the URL, the token's ``username`` must be the user signing in and ``active`` true."""
    _, gid = _dovecot_ids()
    conf = workdir / "dovecot-oauth2.conf.ext"
    conf.write_text(
        f"introspection_mode = post\n"
        f"introspection_url = {introspection_url}\n"
        "force_introspection = yes\n"
        "username_attribute = username\n"
        "username_format = %u\n"
        "active_attribute = active\n"
        "active_value = true\n"
        "timeout_msecs = 5000\n"
    )
    os.chown(conf, 0, gid)
    conf.chmod(0o640)


def start_dovecot(
    workdir: Path,
    users: dict[str, str],
    *,
    tls: bool = False,
    oauth2_introspection_url: str | None = None,
) -> DovecotServer:
    """Start a private Dovecot on 127.0.0.1 (free ports) serving ``users`` (name -> password).

    ``workdir`` must be reachable by the ``dovecot`` user (a 0755 dir under /tmp; it is created
    0755 if missing). With ``tls=True`` the server uses ``ssl = required``: ``.tls_port`` is an
    implicit-TLS port, ``.port`` needs STARTTLS, and ``.ca_pem_path`` is the trustme CA to trust.
    With ``oauth2_introspection_url`` the users can also sign in with SASL OAUTHBEARER or
    XOAUTH2: Dovecot's ``oauth2`` passdb asks that RFC 7662 endpoint about each token.
    """
    workdir = Path(workdir).resolve()
    if len(str(workdir)) > 60:
        raise StackError(f"{workdir}: too long for Dovecot's unix sockets; use a short /tmp dir")
    if not users:
        raise StackError("start_dovecot needs at least one user")
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    _check_traversable(workdir)
    _dovecot_ids()
    for sub in ("run", "state"):
        (workdir / sub).mkdir(exist_ok=True)
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    home.chmod(0o755)
    for user in users:
        _make_home(workdir, user)
    _write_passwd(workdir, users)
    if oauth2_introspection_url is not None:
        _write_oauth2_conf(workdir, oauth2_introspection_url)

    for attempt in range(3):
        try:
            return _start_dovecot_once(
                workdir, users, tls=tls, oauth2_introspection_url=oauth2_introspection_url
            )
        except StackError as exc:
            # A free port was taken between pick and bind: pick again.
            if "Address already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_dovecot_once(
    workdir: Path,
    users: dict[str, str],
    *,
    tls: bool,
    oauth2_introspection_url: str | None = None,
) -> DovecotServer:
    port = free_port()
    tls_port = None
    while tls and (tls_port is None or tls_port == port):
        tls_port = free_port()
    server = DovecotServer(
        workdir=workdir,
        port=port,
        users=dict(users),
        tls_port=tls_port,
        oauth2_introspection_url=oauth2_introspection_url,
    )
    cert = key = None
    if tls:
        import trustme  # noqa: PLC0415 - optional, test-only dependency

        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        server.ca_pem_path = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(server.ca_pem_path))
        cert, key = workdir / "cert.pem", workdir / "key.pem"
        leaf.private_key_pem.write_to_path(str(key))
        with cert.open("wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())
        key.chmod(0o600)
    server.config_path.write_text(_dovecot_conf(server, cert, key))

    # The daemonized master keeps the inherited stdout/stderr open: never give it a pipe.
    start_out = workdir / "dovecot-start.out"
    with start_out.open("wb") as out:
        res = subprocess.run(
            ["dovecot", "-c", str(server.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=30,
        )
    if res.returncode != 0:
        raise StackError(
            f"dovecot failed to start (exit {res.returncode}): {_tail(start_out)}\n"
            f"{_tail(server.log_path)}"
        )
    deadline = time.monotonic() + DOVECOT_READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.pid is not None and _greets(server.port):
            server._master_pid = server.pid
            return server
        time.sleep(0.05)
    server.stop()
    raise StackError(
        f"Dovecot not ready on 127.0.0.1:{server.port} within {DOVECOT_READY_TIMEOUT:.0f} s "
        f"(log {server.log_path}):\n{_tail(server.log_path)}"
    )


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"* OK")
    except OSError:
        return False


# --------------------------------------------------------------------------- CLI


def _stop_recorded(directory: Path) -> list[str]:
    done = []
    kpid = directory / "kafka" / "kafka.pid"
    if kpid.exists():
        with contextlib.suppress(ValueError):
            pid = int(kpid.read_text().strip())
            if str(directory / "kafka") in _pid_cmdline(pid):
                _terminate(pid)
                done.append(f"kafka (pid {pid})")
        kpid.unlink()
    dpid = directory / "dovecot" / "run" / "master.pid"
    if dpid.exists():
        with contextlib.suppress(ValueError):
            pid = int(dpid.read_text().strip())
            if str(directory / "dovecot" / "dovecot.conf") in _pid_cmdline(pid):
                _terminate(pid, timeout=10)
                done.append(f"dovecot (pid {pid})")
        with contextlib.suppress(FileNotFoundError):
            dpid.unlink()
    return done


def _up(directory: Path) -> int:
    env_file = directory / "stack.env"
    kpid = directory / "kafka" / "kafka.pid"
    dpid = directory / "dovecot" / "run" / "master.pid"
    if env_file.exists() and kpid.exists() and dpid.exists():
        pids = [int(p.read_text().strip()) for p in (kpid, dpid)]
        if all(_pid_alive(p) for p in pids):
            print(f"# already up ({directory}); `python -m dev.stack down` to stop")
            print(env_file.read_text(), end="")
            return 0
    # Anything half-running from an earlier `up` goes; then start from clean directories.
    _stop_recorded(directory)
    for sub in ("kafka", "dovecot"):
        shutil.rmtree(directory / sub, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    t0 = time.monotonic()
    kafka = start_kafka(directory / "kafka")
    t1 = time.monotonic()
    try:
        imap = start_dovecot(directory / "dovecot", {DEFAULT_IMAP_USER: DEFAULT_IMAP_PASSWORD})
    except BaseException:
        kafka.stop()
        raise
    t2 = time.monotonic()
    env = (
        f"KAFKA_BOOTSTRAP={kafka.bootstrap}\n"
        f"IMAP_HOST={imap.host}\n"
        f"IMAP_PORT={imap.port}\n"
        f"IMAP_USER={DEFAULT_IMAP_USER}\n"
        f"IMAP_PASSWORD={DEFAULT_IMAP_PASSWORD}\n"
    )
    env_file.write_text(env)
    print(f"# kafka up in {t1 - t0:.1f} s (log {kafka.log_path}), dovecot in {t2 - t1:.1f} s")
    print(f"# written to {env_file}")
    print(env, end="")
    return 0


def _down(directory: Path) -> int:
    done = _stop_recorded(directory)
    with contextlib.suppress(FileNotFoundError):
        (directory / "stack.env").unlink()
    print("stopped: " + (", ".join(done) if done else "nothing was running"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.stack", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_STACK_DIR, help="state dir (%(default)s)"
    )
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    try:
        return _up(directory) if args.command == "up" else _down(directory)
    except StackError as exc:
        print(f"dev.stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
