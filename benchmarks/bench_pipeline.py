#!/usr/bin/env python3
"""End-to-end figures of bounce-stream against real Kafka + Dovecot, side by side in one run.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_pipeline.py [--n 2000] [--repeat 3] [--restart-n 200]
        [--backlog 20000] [--memory-deadline 480] [--no-memory] [--json] [--keep-dir]
        [--smoke] [--servers FILE]

Starts its own single-node Kafka and Dovecot (dev.stack, 127.0.0.1 only, a 0755 temp dir
under /tmp) and stops them at the end, also on error or Ctrl-C (``--servers``: uses running
ones). Then:

1. drain:    N synthetic DSNs, ``bounce-stream run`` as a subprocess (default batch size),
             time from process start to the committed checkpoint reaching the last UID, and
             from the first commit to the last; kcat (read_committed) counts the events.
2. restart:  SIGTERM, append more, start again: time to /readyz 200 and to caught-up.
3. baseline: the poller bounce-stream replaced (position in memory, one UID FETCH round trip
             per message, no Kafka), timed over the same N messages on the same Dovecot.
4. memory:   a large backlog in a second mailbox; VmRSS sampled every 0.5 s while it drains.

A benchmark, not a test: nothing here asserts on time. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import imaplib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench_pipeline.py` from anywhere
    sys.path.insert(0, str(REPO))

from benchmarks._smoke import (  # noqa: E402
    SERVERS_HELP,
    SMOKE_HELP,
    arm_deadline,
    dovecot_with_users,
    read_servers,
)
from bounce_stream.batches import INFO_AHEAD  # noqa: E402
from bounce_stream.detection import parse  # noqa: E402
from dev.stack import (  # noqa: E402
    DovecotServer,
    KafkaNode,
    kafka_version,
    start_kafka,
)
from tests.integration.pipeline import (  # noqa: E402
    ServiceProcess,
    Setup,
    kcat_raw,
    make_dsn,
    recipients,
)

# Fresh user names per run: with --servers the Dovecot may have run a benchmark before.
RUN = uuid.uuid4().hex[:6]
USER_B = f"bench-b-{RUN}@example.test"
PASSWORD = "bench-secret"
DEFAULT_BATCH = 200  # MailboxSettings.batch_max_messages default
# Every service process started, so that the last finally can stop whatever still runs.
SERVICES: list[ServiceProcess] = []
POLL = 0.05  # s between /metrics polls while timing (each is a full scrape)


# --------------------------------------------------------------------------- helpers


def out(line: str = "") -> None:
    print(line, flush=True)


def rate(count: float, seconds: float | None) -> float | None:
    return None if not seconds else count / seconds


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}/s"


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def dsns(prefix: str, count: int, start: int = 0) -> list[bytes]:
    return [make_dsn(r, n=start + i) for i, r in enumerate(recipients(prefix, count, start=start))]


def last_uid(imap: DovecotServer, user: str) -> int:
    """UIDNEXT - 1 of INBOX (one STATUS on a throw-away connection)."""
    conn = imaplib.IMAP4(imap.host, imap.port, timeout=30)
    try:
        conn.login(user, imap.users[user])
        _, data = conn.status("INBOX", "(UIDNEXT)")
        text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
        return int(text.split("UIDNEXT")[1].strip(" )")) - 1
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


def metrics(svc: ServiceProcess) -> dict[str, float]:
    """All unlabelled-or-summed samples of the service's /metrics (empty if not serving)."""
    try:
        status, body = svc.get("/metrics")
    except OSError:
        return {}
    if status != 200:
        return {}
    values: dict[str, float] = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        with contextlib.suppress(ValueError):
            values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return values


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def commit_times(svc: ServiceProcess) -> list[tuple[float, int]]:
    """(unix time, messages) of every ``batch_committed`` log line of the service."""
    found = []
    for ev in svc.log_events():
        if ev.get("event") == "batch_committed" and "timestamp" in ev:
            ts = datetime.fromisoformat(ev["timestamp"].replace("Z", "+00:00")).timestamp()
            found.append((ts, int(ev.get("messages", 0))))
    return found


@dataclass
class Watch:
    """Poll a running service until its committed checkpoint reaches ``target``."""

    svc: ServiceProcess
    started: float  # time.monotonic() at Popen
    target: int
    ready_s: float | None = None
    first_commit_s: float | None = None
    done_s: float | None = None
    last_seen: int = 0
    samples: list[tuple[float, int, int | None]] = field(default_factory=list)  # t, uid, rss

    def run(self, deadline_s: float, *, baseline_uid: int = 0, rss_every: float = 0.0) -> bool:
        end = self.started + deadline_s
        next_rss = time.monotonic()
        while time.monotonic() < end:
            if self.svc.proc.poll() is not None:
                raise RuntimeError(
                    f"service exited {self.svc.proc.returncode}:\n{self.svc.log()[-3000:]}"
                )
            now = time.monotonic() - self.started
            if self.ready_s is None:
                with contextlib.suppress(OSError):
                    if self.svc.get("/readyz")[0] == 200:
                        self.ready_s = now
            uid = int(metrics(self.svc).get("bounce_stream_checkpoint_uid", 0))
            self.last_seen = max(self.last_seen, uid)
            if self.first_commit_s is None and uid > baseline_uid:
                self.first_commit_s = now
            if rss_every and time.monotonic() >= next_rss:
                self.samples.append((now, uid, rss_kib(self.svc.proc.pid)))
                next_rss += rss_every
            if uid >= self.target:
                self.done_s = now
                return True
            time.sleep(POLL)
        return False


def stack_setup(kafka: KafkaNode, imap: DovecotServer, user: str, workdir: Path) -> Setup:
    workdir.mkdir(parents=True, exist_ok=True)
    # Setup.config writes test-friendly Kafka timings; put the service defaults back so the
    # figures are the ones a deployment would see (heartbeat only matters once idle).
    return Setup(
        kafka=kafka,
        dovecot=imap,
        user=user,
        password=PASSWORD,
        workdir=workdir,
        overrides={
            "kafka": {
                "checkpoint_heartbeat_seconds": 60,
                "transaction_timeout_ms": 60000,
                "retry_initial_seconds": 1.0,
                "retry_max_seconds": 60,
            }
        },
    )


def drain_user(r: int) -> str:
    return f"bench-a{r}-{RUN}@example.test"


def start_service(setup: Setup) -> tuple[ServiceProcess, float]:
    t0 = time.monotonic()
    svc = ServiceProcess(setup, batch_max_messages=DEFAULT_BATCH)
    SERVICES.append(svc)
    return svc, t0


# --------------------------------------------------------------------------- baseline
# THE BASELINE: what bounce-stream replaced -- a simple in-process poller. Position kept in
# memory, UID SEARCH, then one `UID FETCH uid BODY.PEEK[]` round trip per message, parse,
# nothing published anywhere. Deliberately plain (stdlib imaplib, synchronous).


@dataclass
class BaselineResult:
    messages: int
    events: int
    seconds: float
    round_trips: int  # SEARCH + one FETCH per message (LOGIN/SELECT/LOGOUT not counted)
    complete: bool  # False when the deadline stopped it early


BASELINE_DEADLINE = 120.0  # s; the loop stops there and reports what it read


def baseline_poll(
    host: str, port: int, user: str, password: str, max_uid: int | None = None
) -> BaselineResult:
    conn = imaplib.IMAP4(host, port, timeout=60)
    try:
        conn.login(user, password)
        conn.select("INBOX", readonly=True)
        last_seen = 0  # the poller's whole "checkpoint": lost on restart
        started = time.perf_counter()
        # Benchmark only: max_uid pins the same messages in every run (and keeps the SEARCH
        # response of a huge mailbox under imaplib's 1,000,000-byte line limit).
        criteria = "ALL" if max_uid is None else f"UID 1:{max_uid}"
        _, data = conn.uid("SEARCH", None, criteria)
        round_trips = 1
        uids = [int(u) for u in data[0].split()] if data and data[0] else []
        uids = [u for u in uids if max_uid is None or u <= max_uid]  # "n:*" quirk
        messages = events = 0
        for uid in uids:
            if time.perf_counter() - started > BASELINE_DEADLINE:
                break
            if uid <= last_seen:
                continue
            _, fetched = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            round_trips += 1
            raw = next((p[1] for p in fetched if isinstance(p, tuple)), None)
            if raw is not None:
                events += len(parse(raw).bounces)
                messages += 1
            last_seen = uid
        seconds = time.perf_counter() - started
        complete = not uids or last_seen == uids[-1]
        return BaselineResult(messages, events, seconds, round_trips, complete)
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


# --------------------------------------------------------------------------- phases


def run_baseline(setup: Setup, n: int) -> dict[str, Any]:
    res = baseline_poll(
        setup.dovecot.host, setup.dovecot.port, setup.user, setup.password, max_uid=n
    )
    return {
        "messages": res.messages,
        "events": res.events,
        "seconds": res.seconds,
        "messages_per_s": rate(res.messages, res.seconds),
        "round_trips": res.round_trips,
        "complete": res.complete,
    }


def res_ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def median_of(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def drain_round(
    setup: Setup, n: int, deadline: float, label: str
) -> tuple[ServiceProcess, dict[str, Any]]:
    """Baseline, then bounce-stream, then baseline again, over the same fresh N messages."""
    t = time.monotonic()
    setup.append(dsns("drain", n))
    target = last_uid(setup.dovecot, setup.user)
    append_s = time.monotonic() - t
    before = run_baseline(setup, n)

    svc, t0 = start_service(setup)
    watch = Watch(svc, t0, target)
    finished = watch.run(deadline)
    m = metrics(svc)
    commits = commit_times(svc)
    first_last = commits[-1][0] - commits[0][0] if len(commits) > 1 else None
    # Messages after the first commit, over first->last commit (the steady-state rate).
    steady_msgs = sum(c[1] for c in commits[1:])
    batches = int(m.get("bounce_stream_batch_duration_seconds_count", 0))
    searches = int(m.get("bounce_stream_polls_total", 0))
    commit_sum = m.get("bounce_stream_kafka_commit_duration_seconds_sum", 0.0)
    batch_sum = m.get("bounce_stream_batch_duration_seconds_sum", 0.0)
    after = run_baseline(setup, n)  # the service sits in IDLE meanwhile
    got = kcat_raw(setup.kafka, setup.topics.events)
    unique = {v for _, v, _ in got}
    wall = watch.done_s
    b_rates = [r for r in (before["messages_per_s"], after["messages_per_s"]) if r]
    b_median = statistics.median(b_rates) if b_rates else None
    e2e, steady = rate(n, wall), rate(steady_msgs, first_last)
    res = {
        "round": label,
        "messages": n,
        "append_s": append_s,
        "finished": finished,
        "last_checkpoint_uid": watch.last_seen,
        "ready_s": watch.ready_s,
        "first_commit_s": watch.first_commit_s,
        "wall_s": wall,
        "first_to_last_commit_s": first_last,
        "messages_per_s": e2e,
        "events_per_s": rate(len(got), wall),
        "steady_messages_per_s": steady,
        "events_in_topic": len(got),
        "distinct_event_values": len(unique),
        "events_ok": len(got) == n and len(unique) == n,
        "batches": batches,
        "imap_searches": searches,
        # One body UID FETCH per batch, one metadata UID FETCH per INFO_AHEAD messages.
        "imap_round_trips_design": 2 + math.ceil(n / DEFAULT_BATCH) + math.ceil(n / INFO_AHEAD),
        "imap_round_trips_measured": searches + batches + math.ceil(n / INFO_AHEAD),
        "mean_batch_ms": 1000 * batch_sum / batches if batches else None,
        "mean_kafka_commit_ms": 1000 * commit_sum / batches if batches else None,
        "baseline_before": before,
        "baseline_after": after,
        "baseline_messages_per_s": b_median,
        "baseline_seconds": n / b_median if b_median else None,
        "ratio_end_to_end": res_ratio(e2e, b_median),
        "ratio_steady": res_ratio(steady, b_median),
        "load_avg_1m": os.getloadavg()[0],
    }
    verdict = "OK" if res["events_ok"] else "MISMATCH"
    out(
        f"   {label}: ready {fmt_s(watch.ready_s)}, first commit "
        f"{fmt_s(watch.first_commit_s)}, checkpoint={target} at {fmt_s(wall)}"
        + ("" if finished else f" (DEADLINE HIT at UID {watch.last_seen})")
        + f", first->last commit {fmt_s(first_last)} ({len(commits)} batches)"
    )
    out(
        f"      bounce-stream {fmt_rate(e2e)} end to end, {fmt_rate(steady)} steady | "
        f"baseline {fmt_rate(before['messages_per_s'])} before, "
        f"{fmt_rate(after['messages_per_s'])} after | kcat {len(got)} events, "
        f"{len(unique)} distinct: {verdict} | load {res['load_avg_1m']:.2f}"
    )
    return svc, res


def phase_drain(
    kafka: KafkaNode,
    imap: DovecotServer,
    workdir: Path,
    n: int,
    repeat: int,
    deadline: float,
    summary: dict[str, Any],
) -> tuple[Setup, ServiceProcess]:
    out(
        f"== 1. drain: {n} DSNs (one recipient each), batch_max_messages={DEFAULT_BATCH}; "
        f"{repeat} round(s), each on a fresh mailbox and fresh topics, the baseline poller "
        "run on the same messages right before and right after the service"
    )
    rounds: list[dict[str, Any]] = []
    setup: Setup | None = None
    svc: ServiceProcess | None = None
    for r in range(repeat):
        if svc is not None:
            svc.stop(timeout=30)
        setup = stack_setup(kafka, imap, drain_user(r), workdir / f"drain{r}")
        svc, res = drain_round(setup, n, deadline, f"round {r + 1}")
        rounds.append(res)
    assert setup is not None and svc is not None
    keys = (
        "ready_s",
        "first_commit_s",
        "wall_s",
        "first_to_last_commit_s",
        "messages_per_s",
        "events_per_s",
        "steady_messages_per_s",
        "mean_batch_ms",
        "mean_kafka_commit_ms",
        "baseline_messages_per_s",
        "baseline_seconds",
        "ratio_end_to_end",
        "ratio_steady",
    )
    med = {key: median_of(rounds, key) for key in keys}
    last = rounds[-1]
    summary["drain"] = {
        "messages": n,
        "rounds": rounds,
        "median": med,
        "events_ok_all_rounds": all(r["events_ok"] for r in rounds),
        "batches": last["batches"],
        "imap_searches": last["imap_searches"],
        "imap_round_trips_design": last["imap_round_trips_design"],
        "imap_round_trips_measured": last["imap_round_trips_measured"],
        "baseline_round_trips": last["baseline_after"]["round_trips"],
    }
    out(f"   median of {repeat} round(s):")
    out(f"   process start -> /readyz 200        {fmt_s(med['ready_s'])}")
    out(f"   process start -> first commit       {fmt_s(med['first_commit_s'])}")
    out(f"   process start -> checkpoint at last {fmt_s(med['wall_s'])}")
    out(f"   first -> last commit (service log)  {fmt_s(med['first_to_last_commit_s'])}")
    out(
        f"   end to end {fmt_rate(med['messages_per_s'])} messages = "
        f"{fmt_rate(med['events_per_s'])} events; steady (first->last commit) "
        f"{fmt_rate(med['steady_messages_per_s'])} messages"
    )
    if med["mean_batch_ms"] is not None and med["mean_kafka_commit_ms"] is not None:
        out(
            f"   per batch of {DEFAULT_BATCH}: {med['mean_batch_ms']:.1f} ms, of which the "
            f"Kafka transaction {med['mean_kafka_commit_ms']:.1f} ms"
        )
    ok = summary["drain"]["events_ok_all_rounds"]
    out(
        f"   kcat read_committed: exactly {n} distinct events in every round -> "
        + ("OK" if ok else "MISMATCH (see the rounds above)")
    )
    return setup, svc


def phase_restart(
    setup: Setup,
    svc: ServiceProcess,
    more: int,
    start_index: int,
    deadline: float,
    summary: dict[str, Any],
) -> ServiceProcess:
    out(f"== 2. restart: SIGTERM, append {more}, start again")
    t = time.monotonic()
    code = svc.stop(timeout=30)
    stop_s = time.monotonic() - t
    before = len(kcat_raw(setup.kafka, setup.topics.events))
    setup.append(dsns("drain", more, start=start_index))
    target = last_uid(setup.dovecot, setup.user)
    svc2, t0 = start_service(setup)
    watch = Watch(svc2, t0, target)
    finished = watch.run(deadline, baseline_uid=target - more)
    after = len(kcat_raw(setup.kafka, setup.topics.events))
    res = {
        "appended": more,
        "stop_s": stop_s,
        "exit_code": code,
        "ready_s": watch.ready_s,
        "first_commit_s": watch.first_commit_s,
        "caught_up_s": watch.done_s,
        "finished": finished,
        "events_added": after - before,
    }
    summary["restart"] = res
    out(f"   SIGTERM -> exit                   {stop_s:.2f} s (exit code {code})")
    out(f"   process start -> /readyz 200      {fmt_s(watch.ready_s)}")
    out(f"   process start -> first commit     {fmt_s(watch.first_commit_s)}")
    out(
        f"   process start -> checkpoint={target:<6} {fmt_s(watch.done_s)}"
        + ("" if finished else f"  (DEADLINE HIT at UID {watch.last_seen})")
    )
    verdict = "OK" if after - before == more else "MISMATCH"
    out(f"   kcat read_committed: +{after - before} events (expected +{more}) -> {verdict}")
    return svc2


def phase_baseline(n: int, summary: dict[str, Any]) -> None:
    drain = summary["drain"]
    med = drain["median"]
    out(
        f"== 3. side by side with the baseline poller (same {n} messages, same Dovecot, "
        "interleaved in every round of 1.; medians)"
    )
    base, e2e, steady = (
        med["baseline_messages_per_s"],
        med["messages_per_s"],
        med["steady_messages_per_s"],
    )
    summary["comparison"] = {
        "baseline_messages_per_s": base,
        "bounce_stream_messages_per_s": e2e,
        "bounce_stream_steady_messages_per_s": steady,
        "ratio_end_to_end": med["ratio_end_to_end"],
        "ratio_steady": med["ratio_steady"],
        "round_trips_bounce_stream_design": drain["imap_round_trips_design"],
        "round_trips_bounce_stream_measured": drain["imap_round_trips_measured"],
        "round_trips_baseline": drain["baseline_round_trips"],
    }
    out(f"   {'':42}{'messages/s':>12}  {'IMAP round trips':>17}")
    out(
        f"   {'baseline poller (imaplib, 1 FETCH/message)':42}{fmt_rate(base):>12}  "
        f"{drain['baseline_round_trips']:>17}"
    )
    out(
        f"   {'bounce-stream, process start -> last commit':42}{fmt_rate(e2e):>12}  "
        f"{drain['imap_round_trips_measured']:>17}"
    )
    out(f"   {'bounce-stream, first -> last commit':42}{fmt_rate(steady):>12}")
    r1, r2 = med["ratio_end_to_end"], med["ratio_steady"]
    out(
        "   ratio bounce-stream/baseline (median of per-round ratios): end to end "
        + (f"{r1:.2f}x" if r1 else "n/a")
        + ", steady "
        + (f"{r2:.2f}x" if r2 else "n/a")
    )
    out(
        f"   IMAP round trips: bounce-stream by design (2 SEARCH + 1 UID FETCH per batch "
        f"+ 1 per {INFO_AHEAD} messages) = {drain['imap_round_trips_design']}; from its "
        f"metrics {drain['imap_searches']} SEARCH + 1 FETCH x {drain['batches']} batches "
        f"+ {math.ceil(n / INFO_AHEAD)} = {drain['imap_round_trips_measured']}; "
        f"baseline 1 + N = {1 + n} (LOGIN/SELECT not counted)"
    )
    out(
        "   (bounce-stream also Avro-encodes and commits one Kafka transaction per batch; "
        "the baseline publishes nothing and keeps its position only in memory)"
    )
    # Loopback hides the cost of a round trip. Arithmetic, not a measurement: add RTT per
    # round trip to the median times measured above (Kafka stays local in both).
    wall, b_secs = med["wall_s"], med["baseline_seconds"]
    rts = drain["imap_round_trips_measured"]
    projection = {}
    if wall and b_secs:
        parts = []
        for rtt_ms in (1, 10, 50):
            bs = wall + rts * rtt_ms / 1000
            bl = b_secs + (1 + n) * rtt_ms / 1000
            projection[f"{rtt_ms}ms"] = {"bounce_stream_s": bs, "baseline_s": bl}
            parts.append(f"{rtt_ms} ms: {bs:.1f} s vs {bl:.1f} s")
        out(
            "   projected drain time with an IMAP round-trip time of (bounce-stream vs "
            "baseline; arithmetic from the round-trip counts, NOT measured):"
        )
        out("     " + "; ".join(parts))
    summary["comparison"]["rtt_projection_not_measured"] = projection


def phase_memory(
    kafka: KafkaNode,
    imap: DovecotServer,
    workdir: Path,
    backlog: int,
    deadline: float,
    summary: dict[str, Any],
) -> None:
    out(f"== 4. memory: backlog of {backlog} DSNs in a second mailbox, VmRSS every 0.5 s")
    setup = stack_setup(kafka, imap, USER_B, workdir / "memory")
    t = time.monotonic()
    chunk = 5000
    for start in range(0, backlog, chunk):
        setup.append(dsns("mem", min(chunk, backlog - start), start=start))
    target = last_uid(imap, USER_B)
    out(f"   appended {backlog} messages in {time.monotonic() - t:.1f} s (last UID {target})")
    svc, t0 = start_service(setup)
    try:
        watch = Watch(svc, t0, target)
        finished = watch.run(deadline, rss_every=0.5)
        watch.samples.append((time.monotonic() - t0, watch.last_seen, rss_kib(svc.proc.pid)))
    finally:
        svc.stop(timeout=30)
    samples = [s for s in watch.samples if s[2] is not None]
    draining = [s for s in samples if 0 < s[1] < target] or samples
    rss = [s[2] for s in draining if s[2] is not None]
    first = watch.first_commit_s
    end_s = watch.done_s if finished else (samples[-1][0] if samples else None)
    done_msgs = watch.last_seen
    # Progress by tenths of the backlog: when each was reached, RSS then, rate in the segment.
    deciles: list[dict[str, Any]] = []
    prev_t, prev_uid = first or 0.0, 0
    for pct in range(10, 101, 10):
        hit = next((s for s in samples if s[1] >= target * pct / 100), None)
        if hit is None:
            break
        seg = rate(hit[1] - prev_uid, hit[0] - prev_t) if hit[0] > prev_t else None
        deciles.append(
            {"pct": pct, "t_s": hit[0], "uid": hit[1], "rss_kib": hit[2], "segment_rate": seg}
        )
        prev_t, prev_uid = hit[0], hit[1]
    at = {f"{d['pct']}%": d["rss_kib"] for d in deciles if d["pct"] in (10, 50, 90)}
    res = {
        "backlog": backlog,
        "finished": finished,
        "messages_done": done_msgs,
        "seconds": end_s,
        "messages_per_s": rate(done_msgs, end_s),
        "steady_messages_per_s": rate(done_msgs, end_s - first) if first and end_s else None,
        "rss_kib_before_first_commit": next((s[2] for s in reversed(samples) if s[1] == 0), None),
        "rss_kib_min": min(rss) if rss else None,
        "rss_kib_median": int(statistics.median(rss)) if rss else None,
        "rss_kib_max": max(rss) if rss else None,
        "rss_kib_at": at,
        "deciles": deciles,
        "samples": len(rss),
    }
    summary["memory"] = res
    if not finished:
        out(
            f"   !! deadline {deadline:.0f} s hit: {done_msgs}/{backlog} messages committed "
            "(partial figures below)"
        )
    out(
        f"   drained {done_msgs} messages in {fmt_s(end_s)}: {fmt_rate(res['messages_per_s'])} "
        f"end to end, {fmt_rate(res['steady_messages_per_s'])} after the first commit"
    )
    if rss:
        mib = [f"{v / 1024:.1f}" for v in (min(rss), statistics.median(rss), max(rss))]
        before = res["rss_kib_before_first_commit"]
        out(
            f"   VmRSS while draining ({len(rss)} samples): min {mib[0]} MiB, "
            f"median {mib[1]} MiB, max {mib[2]} MiB"
            + (f" (before the first commit: {before / 1024:.1f} MiB)" if before else "")
        )
        out(
            "   VmRSS at "
            + ", ".join(
                f"{k} of the drain {v / 1024:.1f} MiB" if v else f"{k} n/a" for k, v in at.items()
            )
        )
        out("   progress   t(s)     UID   VmRSS MiB   msgs/s in that tenth")
        for d in deciles:
            out(
                f"   {d['pct']:>6}% {d['t_s']:>7.1f} {d['uid']:>7} "
                f"{(d['rss_kib'] or 0) / 1024:>11.1f}   {fmt_rate(d['segment_rate'])}"
            )
    got = len(kcat_raw(kafka, setup.topics.events))
    out(f"   kcat read_committed: {got} events (expected {done_msgs})")
    res["events_in_topic"] = got
    # Is a big mailbox itself slower to read? The baseline over 2000 of its messages.
    sample = min(2000, target)
    try:
        big = baseline_poll(imap.host, imap.port, USER_B, PASSWORD, max_uid=sample)
    except (OSError, imaplib.IMAP4.error) as exc:
        out(f"   [baseline poller on this mailbox] failed: {exc}")
        return
    res["baseline_on_big_mailbox_messages_per_s"] = rate(big.messages, big.seconds)
    out(
        f"   [baseline poller on this {target}-message mailbox, first {sample} UIDs] "
        f"{fmt_rate(rate(big.messages, big.seconds))}"
    )


# --------------------------------------------------------------------------- main


def machine_facts() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    dovecot = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        dovecot = subprocess.run(
            ["dovecot", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    versions = {}
    for pkg in ("aiokafka", "aioimaplib", "fastavro"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version  # noqa: PLC0415

            versions[pkg] = version(pkg)
    git = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "bounce_stream"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split("\n")
        changed = sum(1 for line in dirty if line.strip())
        git = head + (f"+{changed} uncommitted bounce_stream/ files" if changed else "")
    return {
        "git": git,
        "nproc": os.cpu_count(),
        "nproc_usable": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "kafka": kafka_version(),
        "dovecot": dovecot,
        **versions,
        "load_avg_start": tuple(round(x, 2) for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="DSNs for the drain figure")
    ap.add_argument("--repeat", type=int, default=3, help="drain rounds (median reported)")
    ap.add_argument("--restart-n", type=int, default=200, help="DSNs appended before restart")
    ap.add_argument("--backlog", type=int, default=20000, help="DSNs for the memory figure")
    ap.add_argument("--memory-deadline", type=float, default=480.0, help="s for the memory drain")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory figure")
    ap.add_argument("--json", action="store_true", help="also print one JSON summary line")
    ap.add_argument("--keep-dir", action="store_true", help="keep the temp dir (logs)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("--servers", type=Path, help=SERVERS_HELP)
    args = ap.parse_args(argv)
    if args.smoke:
        args.n, args.repeat, args.restart_n = 10, 1, 3
        args.backlog, args.memory_deadline, args.no_memory = 20, 30.0, False
        arm_deadline()

    # SIGTERM behaves like Ctrl-C: unwind through the finally blocks that stop the servers.
    def _term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)

    facts = machine_facts()
    summary: dict[str, Any] = {"machine": facts, "args": vars(args)}
    out(
        "bounce-stream pipeline benchmark  " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    )
    out("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))

    workdir = Path(tempfile.mkdtemp(prefix="bsb-", dir="/tmp"))
    workdir.chmod(0o755)
    given_kafka, given_imap = read_servers(args.servers) if args.servers else (None, None)
    kafka: KafkaNode | None = None
    imap: DovecotServer | None = None
    started = time.monotonic()
    try:
        t = time.monotonic()
        kafka = given_kafka or start_kafka(workdir / "kafka")
        users = {drain_user(r): PASSWORD for r in range(args.repeat)} | {USER_B: PASSWORD}
        imap = dovecot_with_users(given_imap, workdir / "dovecot", users)
        out(
            f"stack: kafka {kafka.bootstrap}, dovecot 127.0.0.1:{imap.port} "
            f"(up in {time.monotonic() - t:.1f} s, dir {workdir})"
        )
        setup, svc = phase_drain(kafka, imap, workdir, args.n, args.repeat, 180.0, summary)
        svc = phase_restart(setup, svc, args.restart_n, args.n, 120.0, summary)
        svc.stop(timeout=30)
        phase_baseline(args.n, summary)
        if not args.no_memory:
            phase_memory(kafka, imap, workdir, args.backlog, args.memory_deadline, summary)
        summary["total_s"] = time.monotonic() - started
        load = tuple(round(x, 2) for x in os.getloadavg())
        summary["machine"]["load_avg_end"] = load
        out(f"total {summary['total_s']:.0f} s; load average now {load}")
        if args.json:
            out(json.dumps(summary, default=str, sort_keys=True))
        return 0
    except KeyboardInterrupt:
        out("interrupted: stopping the servers")
        return 130
    finally:
        for s in SERVICES:
            with contextlib.suppress(Exception):
                s.stop(timeout=10)
        if imap is not None and imap is not given_imap:
            imap.stop()
        if kafka is not None and kafka is not given_kafka:
            kafka.stop()
        if args.keep_dir:
            out(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
