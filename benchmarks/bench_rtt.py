#!/usr/bin/env python3
"""bounce-stream's IMAP fetch path against the poller it replaced, over added round-trip time.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_rtt.py [--n 2000] [--rtt-ms 0,1,10,20,50] [--cap 30]
        [--stream 60] [--interval 0.2] [--no-kafka] [--broker production|test]
        [--stream-runs 5] [--warmup 1500] [--big-mb 13.7] [--cpu-rounds 21]
        [--no-cpu] [--json]

Starts its own Dovecot (dev.stack, 127.0.0.1 only, a 0755 temp dir under /tmp) and stops it at
the end, also on error or Ctrl-C. Then:

1. drain: N synthetic DSNs are appended once. For each added RTT a latency-injecting TCP proxy
   (this script in ``proxy`` mode, a child process: asyncio, a fixed one-way delay per
   direction, bytes kept in order and forwarded as fast as they come) sits between the client
   and Dovecot ("0" = no proxy, straight to Dovecot). Both sides read every message of the
   folder through it, one right after the other:

   - bounce-stream: ``MailboxWorker._fetch_batch`` over ``ImapMailbox`` (the planner, the
     metadata and body FETCHes of the service, default batch size), batch after batch until
     the folder is drained. No classification and no Kafka: the IMAP half only.
   - naive: the design bounce-stream replaced, stdlib imaplib, ``UID SEARCH ALL`` then one
     ``UID FETCH uid (BODY.PEEK[])`` per message, one after the other.

   Each side stops after ``--cap`` seconds (the naive side at +50 ms cannot read 2,000
   messages in a sane time): its rate is messages read / time taken. The measured RTT of each
   proxy (median of NOOPs through it) is printed next to the added one.
2. push: a steady stream (``--stream`` appends, one every ``--interval`` s, over a separate
   IMAP connection, each timed when Dovecot's APPEND OK is in) into an empty folder, at
   loopback. The floor is Dovecot's own IDLE notification: a raw connection that stays in
   IDLE the whole time notes when each message's ``* n EXISTS`` arrives. Against it, two
   meanings of "visible": (a) fetched -- ``MailboxWorker._fetch_batch`` and
   ``ImapMailbox.wait_for_news`` in this process, as ``_serve``/``_caught_up`` call them (no
   Kafka), the time the batch holding the message is back; (b) committed -- ``bounce-stream
   run`` as a child process with a single-node Kafka (``--no-kafka`` skips it), the time of
   the ``batch_committed`` log line of the transaction holding the message. p50 and p99 of
   each, and p50 minus the floor's p50. The broker runs with the JVM flags Kafka's own start
   scripts give it (``--broker production``; ``test``: the suite's start-up-tuned flags, C1
   only, which make each transaction 2-4x slower) and is warmed up first with ``--warmup``
   back-to-back transactions of its own producer, as a long-running broker would be: a cold
   JVM interprets the transaction path and its first minutes say nothing about steady state.
3. cpu: one ~``--big-mb`` MB message fetched ``--cpu-rounds`` times through ``ImapMailbox``
   and through stdlib imaplib (no proxy), in turn; process CPU time per fetch, best and median
   of each, and the median of the per-round ratios.

A benchmark, not a test: nothing here asserts on time. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import imaplib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench_rtt.py` from anywhere
    sys.path.insert(0, str(REPO))

from aiokafka import AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from benchmarks._smoke import (  # noqa: E402
    SERVERS_HELP,
    SMOKE_HELP,
    arm_deadline,
    dovecot_with_users,
    read_servers,
)
from bounce_stream.classifying import ClassifyPool  # noqa: E402
from bounce_stream.detection import ParseOptions, parse  # noqa: E402
from bounce_stream.mailbox.imap import ImapMailbox  # noqa: E402
from bounce_stream.metrics import Metrics  # noqa: E402
from bounce_stream.service import build_codecs  # noqa: E402
from bounce_stream.settings import MailboxSettings, Settings  # noqa: E402
from bounce_stream.worker import MailboxWorker, Position  # noqa: E402
from dev.stack import (  # noqa: E402
    KAFKA_JVM_FLAGS,
    KAFKA_PRODUCTION_JVM_FLAGS,
    DovecotServer,
    KafkaNode,
    free_port,
    start_kafka,
)
from tests.integration.pipeline import ServiceProcess, Setup, make_dsn  # noqa: E402

# Fresh user names per run: with --servers the Dovecot may have run a benchmark before.
RUN = uuid.uuid4().hex[:6]
USER = f"rtt-{RUN}@example.test"
BIG_USER = f"rtt-big-{RUN}@example.test"
STREAM_USER = f"stream-{RUN}@example.test"  # the fetch path's stream
PASSWORD = "rtt-secret"


def service_users(runs: int) -> list[str]:
    """The committed stream's folders, one per run."""
    return [f"stream-{RUN}-{k}@example.test" for k in range(runs)]


def out(line: str = "") -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------- the proxy


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward ``reader`` to ``writer``, each chunk ``delay`` seconds after it arrived.

    A queue between a reading and a writing task: the delay is added once per chunk, not per
    chunk in line, so throughput is the link's and order is kept.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while True:
            data = await reader.read(256 * 1024)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def write() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    reading = asyncio.ensure_future(read())
    try:
        await write()
    finally:
        reading.cancel()
        with contextlib.suppress(BaseException):
            await reading


async def _serve_proxy(listen_port: int, target_port: int, one_way: float) -> None:
    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            c_writer.close()
            return
        try:
            await asyncio.gather(
                _pipe(c_reader, s_writer, one_way),
                _pipe(s_reader, c_writer, one_way),
                return_exceptions=True,
            )
        finally:
            c_writer.close()
            s_writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


class Proxy:
    """The proxy as a child process (its CPU is not the client's), stopped on exit."""

    def __init__(self, target_port: int, rtt_ms: float) -> None:
        self.port = free_port()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "proxy",
                str(self.port),
                str(target_port),
                str(rtt_ms / 2000),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError("the RTT proxy did not start")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)


# --------------------------------------------------------------------------- the two sides


def _mailbox(port: int, user: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "bench",
        "host": "127.0.0.1",
        "port": port,
        "username": user,
        "password": PASSWORD,
        "tls": False,
        "timeout_seconds": 60,
        **extra,
    }


def _settings(port: int, user: str, **extra: Any) -> Any:
    return MailboxSettings.model_validate(_mailbox(port, user, **extra))


async def _worker(port: int, user: str = USER) -> Any:
    settings = Settings.model_validate({"mailboxes": [_mailbox(port, user)]})

    async def no_topics() -> None:
        return None

    return MailboxWorker(
        settings.mailboxes[0],
        settings.kafka,
        settings.dead_letter,
        settings.instance,
        await build_codecs(settings),
        Metrics.create(CollectorRegistry()),
        no_topics,
        asyncio.Event(),
        ClassifyPool(ParseOptions(), workers=1, timeout=10),  # never started: no classifying
    )


async def drain_bounce_stream(
    port: int, cap: float, pool: ClassifyPool | None = None
) -> tuple[int, float, int]:
    """Messages read, seconds, bytes: the worker's fetch path from UID 0 until drained.

    With ``pool``, each batch is classified there while the next one is fetched, as
    ``MailboxWorker._serve`` overlaps them (no Kafka)."""
    worker = await _worker(port)
    await worker._imap.connect()
    worker._position = Position(worker._imap.uidvalidity, 0)
    count = size = 0
    started = time.perf_counter()
    try:
        batch = await worker._fetch_batch(0)
        while batch is not None and time.perf_counter() - started < cap:
            worker._planner.committed(batch.cutoff)
            following = asyncio.ensure_future(worker._fetch_batch(batch.cutoff))
            if pool is not None:
                await pool.classify_all([m.raw for m in batch.fetched])
            count += batch.messages
            size += sum(len(m.raw) for m in batch.fetched)
            batch = await following
        return count, time.perf_counter() - started, size
    finally:
        await worker._imap.close()


async def drain_bounce_stream_classifying(port: int, cap: float) -> tuple[int, float, int]:
    pool = ClassifyPool(ParseOptions(), workers=os.cpu_count() or 1, timeout=10)
    await pool.start()
    try:
        await pool.classify_all([make_dsn("warm@example.org")] * 4)  # workers up
        return await drain_bounce_stream(port, cap, pool)
    finally:
        await pool.stop()


def drain_naive(port: int, cap: float, classify: bool = False) -> tuple[int, float, int]:
    """The replaced poller: UID SEARCH ALL, then one UID FETCH per message, in order."""
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    try:
        imap.login(USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        count = size = 0
        started = time.perf_counter()
        _, data = imap.uid("SEARCH", "ALL")
        for uid in data[0].split():
            if time.perf_counter() - started >= cap:
                break
            _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            for part in parts:
                if isinstance(part, tuple):
                    size += len(part[1])
                    if classify:
                        parse(part[1])
            count += 1
        return count, time.perf_counter() - started, size
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


def measure_rtt(port: int, rounds: int = 7) -> float:
    """Median NOOP round trip through ``port``, in ms."""
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        imap.login(USER, PASSWORD)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            imap.noop()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


# --------------------------------------------------------------------------- push latency


class IdleObserver(threading.Thread):
    """A raw IMAP connection in IDLE the whole time: when each ``* n EXISTS`` arrives."""

    def __init__(self, port: int, user: str, deadline: float) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, float] = {}  # message number -> time it was first announced
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._deadline = deadline
        self._rest = b""
        self._line()  # greeting
        for line in (f'a LOGIN "{user}" "{PASSWORD}"', "b SELECT INBOX", "c IDLE"):
            self._sock.sendall(line.encode() + b"\r\n")
            while not self._line().startswith((b"a ", b"b ", b"+")):
                pass
        self._sock.settimeout(0.5)

    def _line(self) -> bytes:
        while b"\r\n" not in self._rest:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("the IDLE observer's connection closed")
            self._rest += data
        line, _, self._rest = self._rest.partition(b"\r\n")
        return line

    def run(self) -> None:
        exists = re.compile(rb"^\* (\d+) EXISTS")
        while time.monotonic() < self._deadline:
            try:
                line = self._line()
            except TimeoutError:
                continue
            except OSError:
                return
            if m := exists.match(line):
                now = time.time()
                for n in range(1, int(m.group(1)) + 1):
                    self.seen.setdefault(n, now)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"DONE\r\nz LOGOUT\r\n")
        self._sock.close()


FLOOR_OBSERVERS = 3


def start_observers(port: int, user: str, seconds: float) -> list[IdleObserver]:
    """Dovecot times each IDLE connection's notifications on its own clock: the floor is
    pooled over a few connections."""
    observers = [
        IdleObserver(port, user, time.monotonic() + seconds) for _ in range(FLOOR_OBSERVERS)
    ]
    for observer in observers:
        observer.start()
    return observers


def append_stream(port: int, user: str, count: int, interval: float) -> dict[int, float]:
    """Append ``count`` DSNs, one every ``interval`` s; UID -> time its APPEND completed."""
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    appended: dict[int, float] = {}
    try:
        imap.login(user, PASSWORD)
        start = time.monotonic()
        for i in range(count):
            wait = start + i * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            _, data = imap.append("INBOX", None, None, make_dsn(f"s{i}@example.org", n=i))
            done = time.time()
            m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            appended[int(m.group(1)) if m else i + 1] = done
        return appended
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


async def fetch_path_stream(port: int, user: str, count: int, interval: float) -> dict[str, Any]:
    """The worker's fetch path drains a steady stream: when each UID's batch is back."""
    worker = await _worker(port, user)
    await worker._imap.connect()
    worker._position = Position(worker._imap.uidvalidity, 0)
    stop = asyncio.Event()
    all_fetched = asyncio.Event()
    fetched: dict[int, float] = {}
    observers = start_observers(port, user, count * interval + 30)
    # When bounce-stream's own connections first read each message's EXISTS (its IDLE
    # connection, as a rule): what Dovecot gave it, apart from what it did with it.
    heard: dict[int, float] = {}
    listen = worker._imap._heard

    def heard_too(line: bytes) -> None:
        if m := re.match(rb"^\* (\d+) EXISTS", line):
            now = time.time()
            for n in range(1, int(m.group(1)) + 1):
                heard.setdefault(n, now)
        listen(line)

    worker._imap._heard = heard_too

    async def drain() -> None:
        after = 0
        while not stop.is_set():
            batch = await worker._fetch_batch(after)
            if batch is None:
                await worker._imap.wait_for_news(worker.mailbox.idle_timeout_seconds, stop)
                continue
            now = time.time()
            for uid in batch.uids:
                fetched.setdefault(uid, now)
            if len(fetched) >= count:
                all_fetched.set()
            after = batch.cutoff
            worker._planner.committed(after)

    draining = asyncio.ensure_future(drain())
    try:
        appended = await asyncio.to_thread(append_stream, port, user, count, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_fetched.wait(), 15)
        await asyncio.sleep(1)  # the observer's last announcements
    finally:
        stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(draining, 10)
        await worker._imap.close()
        for observer in observers:
            observer.close()
    return {
        "appended": appended,
        "floors": [o.seen for o in observers],
        "visible": fetched,
        "heard": heard,
    }


BROKER_FLAGS = {"production": KAFKA_PRODUCTION_JVM_FLAGS, "test": KAFKA_JVM_FLAGS}


async def warm_up_broker(kafka: KafkaNode, transactions: int) -> list[float]:
    """``transactions`` back-to-back transactions (one small record each, a topic of their
    own): the broker's JIT compiles its transaction path. Returns each one's ms."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("bench-rtt-warm-up", 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id="bench-rtt-warm-up", acks="all"
    )
    await producer.start()
    times: list[float] = []
    try:
        for i in range(transactions):
            started = time.perf_counter()
            await producer.begin_transaction()
            await producer.send("bench-rtt-warm-up", b"x" * 600, key=b"%d" % (i % 50))
            await producer.commit_transaction()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await producer.stop()
    return times


def service_stream(
    workdir: Path,
    dovecot: DovecotServer,
    users: list[str],
    count: int,
    interval: float,
    *,
    broker: str,
    warmup: int,
    given: KafkaNode | None = None,
    settle: float = 2.0,
) -> list[dict[str, Any]]:
    """``bounce-stream run`` with Kafka drains a steady stream, once per user in ``users`` (a
    fresh service and folder each time, one warm broker): when each UID's transaction
    committed (the time of its batch_committed log line). ``given``: that broker, whatever
    its JVM flags, instead of one started here. ``settle``: seconds between /readyz and the
    first append, for the service to be waiting in IDLE."""
    kafka = given or start_kafka(workdir / "kafka", jvm_flags=BROKER_FLAGS[broker])
    flags = f"{broker} broker JVM flags" if given is None else "a given broker (--servers)"
    try:
        if warmup:
            warm = asyncio.run(warm_up_broker(kafka, warmup))
            tail = sorted(warm[-200:])
            out(
                f"  ({flags}; {warmup} back-to-back warm-up transactions, the "
                f"first 100 median {statistics.median(warm[:100]):.1f} ms, the last "
                f"{len(tail)} median {statistics.median(tail):.1f} ms)"
            )
        else:
            out(f"  ({flags}; no warm-up)")
        return [
            _one_service_stream(workdir, kafka, dovecot, u, count, interval, settle) for u in users
        ]
    finally:
        if kafka is not given:
            kafka.stop()


def _one_service_stream(
    workdir: Path,
    kafka: KafkaNode,
    dovecot: DovecotServer,
    user: str,
    count: int,
    interval: float,
    settle: float,
) -> dict[str, Any]:
    svc: ServiceProcess | None = None
    observers: list[IdleObserver] = []
    try:
        setup = Setup.create(
            kafka,
            dovecot,
            user,
            PASSWORD,
            workdir,
            overrides={"kafka": {"checkpoint_heartbeat_seconds": 60}},
        )
        svc = ServiceProcess(setup, batch_max_messages=200, idle_timeout_seconds=300)
        svc.wait_ready(120)
        time.sleep(settle)  # caught up on the empty folder, waiting for news
        observers = start_observers(dovecot.port, user, count * interval + 30)
        appended = append_stream(dovecot.port, user, count, interval)
        committed: dict[int, float] = {}
        deadline = time.monotonic() + 30
        while len(committed) < count and time.monotonic() < deadline:
            time.sleep(0.2)
            for event in svc.log_events():
                if event.get("event") == "batch_committed":
                    at = datetime.fromisoformat(event["timestamp"]).timestamp()
                    for uid in range(1, int(event["last_uid"]) + 1):
                        committed.setdefault(uid, at)
        time.sleep(1)
        name = "bounce_stream_kafka_commit_duration_seconds"
        commits = svc.metric(f"{name}_count")
        commit_ms = 1000 * svc.metric(f"{name}_sum") / commits if commits else float("nan")
        name = "bounce_stream_batch_duration_seconds"
        batches = svc.metric(f"{name}_count")
        batch_ms = 1000 * svc.metric(f"{name}_sum") / batches if batches else float("nan")
        out(
            f"  (service: {batches:.0f} batches, mean batch {batch_ms:.1f} ms of which the "
            f"Kafka commit {commit_ms:.1f} ms)"
        )
        return {
            "appended": appended,
            "floors": [o.seen for o in observers],
            "visible": committed,
            "mean_batch_ms": batch_ms,
            "mean_commit_ms": commit_ms,
        }
    finally:
        for observer in observers:
            observer.close()
        if svc is not None:
            svc.stop()


def _latencies(appended: dict[int, float], seen: dict[int, float]) -> list[float]:
    """ms from APPEND done to seen, per message seen (UID n is message n: fresh folder)."""
    return sorted((seen[u] - t) * 1000 for u, t in appended.items() if u in seen)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def report_stream(label: str, result: dict[str, Any], count: int) -> dict[str, Any]:
    """One line: the floor (pooled over the observers) and "visible", p50 and p99."""
    floor = sorted(v for seen in result["floors"] for v in _latencies(result["appended"], seen))
    visible = _latencies(result["appended"], result["visible"])
    row = {
        "floor_p50": _pct(floor, 0.5),
        "floor_p99": _pct(floor, 0.99),
        "p50": _pct(visible, 0.5),
        "p99": _pct(visible, 0.99),
        "floor_samples": len(floor),
        "seen": len(visible),
    }
    if "heard" in result:
        heard = _latencies(result["appended"], result["heard"])
        row["heard_p50"], row["heard_p99"] = _pct(heard, 0.5), _pct(heard, 0.99)
        out(
            f"  (bounce-stream's IDLE connection heard of the messages at p50 "
            f"{row['heard_p50']:.1f} ms, p99 {row['heard_p99']:.1f} ms)"
        )
    # Each IDLE connection hears on a coalescing timer of its own (Dovecot: 500 ms from the
    # first change it sees), so one connection's p50 depends on that timer's phase: the
    # observers' own p50s show the spread.
    own = [_pct(_latencies(result["appended"], seen), 0.5) for seen in result["floors"]]
    row["observer_p50s"] = own
    out(
        f"  {label:<22} floor p50 {row['floor_p50']:6.1f} p99 {row['floor_p99']:6.1f} ms | "
        f"visible p50 {row['p50']:6.1f} p99 {row['p99']:6.1f} ms ({len(visible)}/{count}) | "
        f"p50 - floor {row['p50'] - row['floor_p50']:+6.1f} ms, "
        f"p99 - floor {row['p99'] - row['floor_p99']:+6.1f} ms | "
        f"observers' p50s {'/'.join(f'{v:.0f}' for v in own)} ms"
    )
    return row


# --------------------------------------------------------------------------- CPU of one big message


def big_message(mb: float) -> bytes:
    """A ~``mb`` MB bounce: a DSN whose returned message carries a base64 attachment."""
    head = make_dsn("big@example.org")
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    body = line * int(mb * 1_000_000 / len(line))
    return head + b"\r\n" + body


async def cpu_both(port: int, rounds: int, size: int) -> tuple[list[float], list[float]]:
    """Process CPU ms per fetch of the one message (``size`` bytes): ImapMailbox and stdlib
    imaplib, their rounds interleaved (one of each in turn) so that both see the same machine
    load."""
    box = ImapMailbox(_settings(port, BIG_USER))
    await box.connect()
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    try:
        imap.login(BIG_USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        [uid] = await box.uids_after(0)
        adapter: list[float] = []
        stdlib: list[float] = []
        for _ in range(rounds):
            t0 = time.process_time()
            [msg] = await box.fetch_bodies([uid])
            adapter.append((time.process_time() - t0) * 1000)
            assert len(msg.raw) == size and not msg.oversized
            del msg
            t0 = time.process_time()
            _, parts = imap.uid("FETCH", str(uid), "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])")
            stdlib.append((time.process_time() - t0) * 1000)
            assert isinstance(parts[0], tuple) and len(parts[0][1]) == size
            del parts
        return adapter, stdlib
    finally:
        await box.close()
        with contextlib.suppress(Exception):
            imap.logout()


# --------------------------------------------------------------------------- main


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def machine_facts() -> str:
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "bounce_stream"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.count("\n")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"git {head} ({dirty} bounce_stream files uncommitted), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load {load}"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"facts": machine_facts(), "drain": [], "push": {}, "cpu": None}
    out(results["facts"])
    with tempfile.TemporaryDirectory(prefix="rtt-", dir="/tmp") as tmp:
        Path(tmp).chmod(0o755)  # Dovecot runs as its own user
        users = {
            u: PASSWORD for u in (USER, BIG_USER, STREAM_USER, *service_users(args.stream_runs))
        }
        given_kafka, given_dovecot = read_servers(args.servers) if args.servers else (None, None)
        dovecot = dovecot_with_users(given_dovecot, Path(tmp) / "dc", users)
        try:
            t0 = time.perf_counter()
            dsns = (make_dsn(f"r{i}@example.org", n=i) for i in range(args.n))
            dovecot.append(USER, "INBOX", dsns)
            out(f"appended {args.n} DSNs in {time.perf_counter() - t0:.1f} s")
            # Dovecot fills its cache file on a folder's first reads, with the fields asked for:
            # both sides read it once, untimed, so that the first measured does not pay for it.
            t0 = time.perf_counter()
            drain_naive(dovecot.port, args.cap)
            asyncio.run(drain_bounce_stream(dovecot.port, args.cap))
            out(f"warm-up read of the folder, not in the table: {time.perf_counter() - t0:.1f} s")
            out()
            what = (
                f"classified: bounce-stream on a pool of {os.cpu_count()} workers, naive in-process"
                if args.classify
                else "IMAP fetch path only"
            )
            out(f"drain of {args.n} messages (cap {args.cap:.0f} s a side; {what})")
            out(
                f"{'added RTT':>9} {'measured':>9} | {'bounce-stream':>13} {'read':>6} | "
                f"{'naive':>8} {'read':>6} | {'ratio':>7}"
            )
            for rtt in args.rtt_ms:
                proxy = Proxy(dovecot.port, rtt) if rtt > 0 else None
                port = proxy.port if proxy else dovecot.port
                try:
                    measured = measure_rtt(port)
                    if args.classify:
                        bs = asyncio.run(drain_bounce_stream_classifying(port, args.cap))
                    else:
                        bs = asyncio.run(drain_bounce_stream(port, args.cap))
                    nv = drain_naive(port, args.cap, args.classify)
                finally:
                    if proxy:
                        proxy.stop()
                bs_rate, nv_rate = _rate(bs[0], bs[1]), _rate(nv[0], nv[1])
                ratio = bs_rate / nv_rate if nv_rate else float("inf")
                label = f"+{rtt:g} ms" if rtt else "loopback"
                out(
                    f"{label:>9} {measured:>6.2f} ms | {bs_rate:>9.0f}/s {bs[0]:>6} | "
                    f"{nv_rate:>6.0f}/s {nv[0]:>6} | {ratio:>6.1f}x"
                )
                results["drain"].append(
                    {
                        "added_rtt_ms": rtt,
                        "measured_rtt_ms": measured,
                        "bounce_stream": {"messages": bs[0], "seconds": bs[1], "bytes": bs[2]},
                        "naive": {"messages": nv[0], "seconds": nv[1], "bytes": nv[2]},
                        "ratio": ratio,
                    }
                )
            if args.stream:
                out()
                out(
                    f"push latency: {args.stream} appends, one every {args.interval * 1000:.0f} "
                    "ms, loopback; APPEND done -> visible"
                )
                fetch = asyncio.run(
                    fetch_path_stream(dovecot.port, STREAM_USER, args.stream, args.interval)
                )
                results["push"]["fetched"] = report_stream(
                    "fetched (fetch path)", fetch, args.stream
                )
                if not args.no_kafka:
                    runs = service_stream(
                        Path(tmp),
                        dovecot,
                        service_users(args.stream_runs),
                        args.stream,
                        args.interval,
                        broker=args.broker,
                        warmup=args.warmup,
                        given=given_kafka,
                        settle=0.5 if args.smoke else 2.0,
                    )
                    rows = [
                        report_stream(f"committed, run {k + 1}", run, args.stream)
                        for k, run in enumerate(runs)
                    ]
                    p50 = statistics.median(r["p50"] - r["floor_p50"] for r in rows)
                    p99 = statistics.median(r["p99"] - r["floor_p99"] for r in rows)
                    out(
                        f"  committed (service), median of {len(rows)} runs: "
                        f"p50 - floor {p50:+.1f} ms, p99 - floor {p99:+.1f} ms "
                        "(targets +30 / +50 ms)"
                    )
                    results["push"]["committed"] = {
                        "runs": rows,
                        "p50_minus_floor": p50,
                        "p99_minus_floor": p99,
                    }
            if not args.no_cpu:
                big = big_message(args.big_mb)
                dovecot.append(BIG_USER, "INBOX", [big])
                adapter, stdlib = asyncio.run(cpu_both(dovecot.port, args.cpu_rounds, len(big)))
                out()
                out(
                    f"CPU to fetch one {len(big) / 1e6:.1f} MB message "
                    f"({args.cpu_rounds} interleaved rounds, process CPU time)"
                )
                for name, times in (("ImapMailbox", adapter), ("stdlib imaplib", stdlib)):
                    out(
                        f"  {name:<15} best {min(times):6.1f} ms   "
                        f"median {statistics.median(times):6.1f} ms"
                    )
                pairs = statistics.median(a / s for a, s in zip(adapter, stdlib, strict=True))
                out(
                    f"  ratio: best/best {min(adapter) / min(stdlib):.2f}x, "
                    f"median of per-round ratios {pairs:.2f}x"
                )
                results["cpu"] = {"bytes": len(big), "adapter_ms": adapter, "stdlib_ms": stdlib}
        finally:
            if dovecot is not given_dovecot:
                dovecot.stop()
    return results


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "proxy":
        listen, target, one_way = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_proxy(listen, target, one_way))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="messages to drain")
    parser.add_argument(
        "--rtt-ms",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.0, 1.0, 10.0, 20.0, 50.0],
        help="added round-trip times, comma-separated (0 = no proxy)",
    )
    parser.add_argument("--cap", type=float, default=30.0, help="seconds at most per side")
    parser.add_argument(
        "--classify", action="store_true", help="both sides classify what they read"
    )
    parser.add_argument("--stream", type=int, default=60, help="appends of the push part (0: skip)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between appends")
    parser.add_argument("--no-kafka", action="store_true", help="push part without the service")
    parser.add_argument(
        "--broker",
        choices=sorted(BROKER_FLAGS),
        default="production",
        help="the push part's Kafka JVM flags: Kafka's start scripts' or the test suite's",
    )
    parser.add_argument(
        "--stream-runs",
        type=int,
        default=5,
        help="committed streams, each on a fresh service and folder: Dovecot coalesces each "
        "IDLE connection's notifications on a 500 ms timer of its own, so one run's p50 "
        "depends on that timer's phase",
    )
    parser.add_argument(
        "--warmup", type=int, default=1500, help="transactions warming the broker up (0: none)"
    )
    parser.add_argument("--big-mb", type=float, default=13.7, help="size of the CPU message")
    parser.add_argument("--cpu-rounds", type=int, default=21)
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU part")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    parser.add_argument("--servers", type=Path, help=SERVERS_HELP)
    args = parser.parse_args()
    if args.smoke:
        args.n, args.rtt_ms, args.cap = 10, [0.0, 1.0], 10.0
        args.stream, args.interval, args.stream_runs, args.warmup = 3, 0.05, 1, 0
        args.big_mb, args.cpu_rounds, args.broker = 1.0, 1, "test"
        arm_deadline()
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops Dovecot too (run's finally)
    results = run(args)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
