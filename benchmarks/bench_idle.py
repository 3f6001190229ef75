#!/usr/bin/env python3
"""What idle mailboxes cost: CPU and RSS of ``bounce-stream run`` watching 50 of them.

Usage (from the repo root, with the project venv)::

    .venv/bin/python benchmarks/bench_idle.py [--mailboxes 50] [--window 60] [--json]
        [--smoke] [--servers FILE]

Starts its own single-node Kafka and Dovecot (dev.stack, 127.0.0.1 only, a 0755 temp dir
under /tmp) and stops everything at the end, also on error, Ctrl-C or SIGTERM (``--servers``:
uses running ones and leaves them running). Then, side by
side, two ``bounce-stream run`` processes with the service's default mailbox and Kafka
timings (IDLE on, so each mailbox holds two IMAP connections: fetching + IDLE):

- **many**: one process watching ``--mailboxes`` Dovecot users;
- **one**: one process watching a single user (the fixed cost of a process).

Each mailbox gets one DSN, so every process has fetched, classified and committed once
(imports loaded, classify workers warm). Once both answer /readyz 200 and every mailbox's
checkpoint is at UID 1 (caught up), the script waits ``--settle`` s and then samples both for
``--window`` s: CPU time (utime + stime of /proc/PID/stat, the process and, apart, its child
processes -- the classify workers), VmRSS (/proc/PID/status, once a second) and context
switches of all threads (/proc/PID/task/*/status: voluntary ones are wake-ups).

Printed: CPU % of one core over the window, RSS (median of the samples), wake-ups/s, for
each process; then per mailbox, both as the total / N and as the marginal cost
(many - one) / (N - 1), next to issue 13's target (<= 0.2 % CPU and <= 1 MiB RSS per idle
mailbox). Dovecot's own per-connection processes are not counted.

A benchmark, not a test: nothing here asserts on time. Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench_idle.py` from anywhere
    sys.path.insert(0, str(REPO))

from benchmarks._smoke import (  # noqa: E402
    SERVERS_HELP,
    SMOKE_HELP,
    arm_deadline,
    dovecot_with_users,
    read_servers,
)
from benchmarks.bench_pipeline import machine_facts, metrics, rss_kib  # noqa: E402
from dev.stack import DovecotServer, KafkaNode, start_kafka  # noqa: E402
from tests.integration.pipeline import ServiceProcess, Setup, make_dsn  # noqa: E402

PASSWORD = "idle-secret"
TARGET_CPU_PCT = 0.2  # issue 13: per idle mailbox, % of one core
TARGET_RSS_MIB = 1.0  # issue 13: per idle mailbox
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The service's defaults (Setup.config writes test-friendly timings): figures as deployed.
KAFKA_DEFAULTS = {
    "checkpoint_heartbeat_seconds": 60,
    "transaction_timeout_ms": 60000,
    "retry_initial_seconds": 1.0,
    "retry_max_seconds": 60,
}
MAILBOX_DEFAULTS: dict[str, Any] = {
    "batch_max_messages": 200,
    "idle_timeout_seconds": 300,
    "poll_interval_seconds": 30,
    "reconnect_initial_seconds": 1.0,
    "reconnect_max_seconds": 60,
}
# Counters read before and after the window (their difference is printed).
WINDOW_COUNTERS = {
    "transactions": "bounce_stream_transactions_total",
    "polls": "bounce_stream_polls_total",
}
SERVICES: list[ServiceProcess] = []
# Fresh user names per run: with --servers the Dovecot may have run a benchmark before.
RUN = uuid.uuid4().hex[:6]


def out(line: str = "") -> None:
    print(line, flush=True)


def user(group: str, i: int) -> str:
    return f"idle-{group}{i}-{RUN}@example.test"


# --------------------------------------------------------------------------- /proc readings


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the classify workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid:
                    found.append(int(entry.name))
    return found


def switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches summed over all threads of ``pid``."""
    vol = invol = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol += int(line.split()[1])
    return vol, invol


def socket_fds(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


@dataclass
class Reading:
    """CPU ticks and context switches of a process (and its children's ticks), at a time."""

    at: float
    ticks: int
    child_ticks: int
    voluntary: int
    involuntary: int

    @classmethod
    def take(cls, pid: int) -> Reading:
        kids = 0
        for child in children(pid):
            with contextlib.suppress(OSError):
                kids += cpu_ticks(child)
        vol, invol = switches(pid)
        return cls(time.monotonic(), cpu_ticks(pid), kids, vol, invol)


# --------------------------------------------------------------------------- the services


def start_service(
    kafka: KafkaNode, imap: DovecotServer, users: list[str], workdir: Path
) -> tuple[ServiceProcess, Setup]:
    """``bounce-stream run`` watching INBOX of each of ``users`` (service defaults)."""
    setup = Setup.create(
        kafka, imap, users[0], PASSWORD, workdir, overrides={"kafka": KAFKA_DEFAULTS}
    )
    password_file = str(setup.workdir / "imap-password")  # written by Setup.config
    setup.overrides["extra_mailboxes"] = [
        {
            "name": f"box{i}",
            "host": imap.host,
            "port": imap.port,
            "username": name,
            "password_file": password_file,
            "tls": False,
            **MAILBOX_DEFAULTS,
        }
        for i, name in enumerate(users[1:], start=1)
    ]
    svc = ServiceProcess(setup, **MAILBOX_DEFAULTS)
    SERVICES.append(svc)
    return svc, setup


def wait_caught_up(svc: ServiceProcess, boxes: int, deadline: float) -> float:
    """Wait for /readyz 200 and every mailbox's checkpoint at UID 1; seconds it took."""
    t0 = time.monotonic()
    svc.wait_ready(max(1.0, deadline - time.monotonic()))
    while True:
        m = metrics(svc)
        if m.get("bounce_stream_checkpoint_uid", 0) >= boxes:
            return time.monotonic() - t0
        if svc.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"{boxes} mailboxes not caught up (checkpoint UIDs sum to "
                f"{m.get('bounce_stream_checkpoint_uid', 0):.0f}):\n{svc.log()[-2000:]}"
            )
        time.sleep(0.5)


def measure(services: dict[str, ServiceProcess], window: float) -> dict[str, dict[str, Any]]:
    """Sample every service side by side for ``window`` seconds."""
    pids = {name: svc.proc.pid for name, svc in services.items()}
    # /metrics is scraped outside the window: a scrape costs the service CPU.
    counts = {name: metrics(svc) for name, svc in services.items()}
    start = {name: Reading.take(pid) for name, pid in pids.items()}
    rss: dict[str, list[int]] = {name: [] for name in pids}
    end_at = time.monotonic() + window
    while time.monotonic() < end_at:
        for name, pid in pids.items():
            kib = rss_kib(pid)
            if kib is None:
                raise RuntimeError(f"service {name} exited during the window")
            rss[name].append(kib)
        time.sleep(min(1.0, max(0.0, end_at - time.monotonic())))
    ends = {name: Reading.take(pid) for name, pid in pids.items()}
    result = {}
    for name, pid in pids.items():
        end, begin = ends[name], start[name]
        after = metrics(services[name])
        seconds = end.at - begin.at
        kids = children(pid)
        result[name] = {
            "seconds": seconds,
            "cpu_pct": 100 * (end.ticks - begin.ticks) / CLK_TCK / seconds,
            "children_cpu_pct": 100 * (end.child_ticks - begin.child_ticks) / CLK_TCK / seconds,
            "wakeups_per_s": (end.voluntary - begin.voluntary) / seconds,
            "involuntary_per_s": (end.involuntary - begin.involuntary) / seconds,
            "rss_mib": statistics.median(rss[name]) / 1024,
            "rss_max_mib": max(rss[name]) / 1024,
            "children_rss_mib": sum(rss_kib(k) or 0 for k in kids) / 1024,
            "children": len(kids),
            "threads": len(list(Path(f"/proc/{pid}/task").iterdir())),
            "sockets": socket_fds(pid),
            **{
                key: after.get(metric, 0.0) - counts[name].get(metric, 0.0)
                for key, metric in WINDOW_COUNTERS.items()
            },
        }
    return result


# --------------------------------------------------------------------------- report


def report(fig: dict[str, dict[str, Any]], n: int) -> dict[str, Any]:
    many, one = fig["many"], fig["one"]
    out(
        f"{'process':<14}{'CPU %':>8}{'RSS MiB':>9}{'max':>7}{'wakeups/s':>11}"
        f"{'sockets':>9}{'threads':>8}{'txns':>6}{'polls':>6}   children (classify workers)"
    )
    for name, label in (("many", f"{n} mailboxes"), ("one", "1 mailbox")):
        f = fig[name]
        out(
            f"{label:<14}{f['cpu_pct']:>8.3f}{f['rss_mib']:>9.1f}{f['rss_max_mib']:>7.1f}"
            f"{f['wakeups_per_s']:>11.1f}{f['sockets']:>9}{f['threads']:>8}"
            f"{f['transactions']:>6.0f}{f['polls']:>6.0f}   "
            f"{f['children']} using {f['children_cpu_pct']:.3f} % CPU, "
            f"{f['children_rss_mib']:.1f} MiB"
        )
    per = {
        "cpu_pct_total_over_n": many["cpu_pct"] / n,
        "cpu_pct_marginal": (many["cpu_pct"] - one["cpu_pct"]) / (n - 1),
        "rss_mib_total_over_n": many["rss_mib"] / n,
        "rss_mib_marginal": (many["rss_mib"] - one["rss_mib"]) / (n - 1),
        "wakeups_per_s_marginal": (many["wakeups_per_s"] - one["wakeups_per_s"]) / (n - 1),
    }

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "MISSES"

    out()
    out(f"per mailbox ({n}):            total/{n}   marginal (many-one)/{n - 1}   target")
    out(
        f"  CPU % of one core     {per['cpu_pct_total_over_n']:>10.4f}   "
        f"{per['cpu_pct_marginal']:>10.4f}  {'':>15}<= {TARGET_CPU_PCT} "
        f"({verdict(per['cpu_pct_marginal'], TARGET_CPU_PCT)})"
    )
    out(
        f"  RSS MiB               {per['rss_mib_total_over_n']:>10.3f}   "
        f"{per['rss_mib_marginal']:>10.3f}  {'':>15}<= {TARGET_RSS_MIB} "
        f"({verdict(per['rss_mib_marginal'], TARGET_RSS_MIB)})"
    )
    tick_pct = 100 / CLK_TCK / many["seconds"]
    out(f"  (CPU time is counted in ticks of 1/{CLK_TCK} s: +-{tick_pct:.3f} % per process)")
    out(f"  wake-ups/s            {'':>10}   {per['wakeups_per_s_marginal']:>10.2f}")
    out(
        f"  total for {n}: {many['cpu_pct']:.3f} % CPU "
        f"(target {n * TARGET_CPU_PCT:.0f} %), {many['rss_mib']:.1f} MiB RSS"
    )
    return per


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, default=50, help="mailboxes of the big process")
    ap.add_argument("--window", type=float, default=60.0, help="seconds sampled (<= 600)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds idle before sampling")
    ap.add_argument("--ready-deadline", type=float, default=180.0, help="s to be caught up")
    ap.add_argument("--json", action="store_true", help="also print one JSON summary line")
    ap.add_argument("--keep-dir", action="store_true", help="keep the temp dir (logs)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("--servers", type=Path, help=SERVERS_HELP)
    args = ap.parse_args(argv)
    if args.smoke:
        args.mailboxes, args.window, args.settle, args.ready_deadline = 2, 1.0, 0.0, 40.0
        arm_deadline()
    if not 2 <= args.mailboxes <= 500 or not 1 <= args.window <= 600:
        ap.error("--mailboxes must be 2..500 and --window 1..600")

    def _term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)  # like Ctrl-C: unwind through the finally below

    facts = machine_facts()
    out("bounce-stream idle benchmark  " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    out("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    workdir = Path(tempfile.mkdtemp(prefix="bsi-", dir="/tmp"))
    workdir.chmod(0o755)
    given_kafka, given_imap = read_servers(args.servers) if args.servers else (None, None)
    kafka: KafkaNode | None = None
    imap: DovecotServer | None = None
    try:
        many_users = [user("m", i) for i in range(args.mailboxes)]
        one_users = [user("s", 0)]
        t = time.monotonic()
        kafka = given_kafka or start_kafka(workdir / "kafka")
        imap = dovecot_with_users(
            given_imap, workdir / "dovecot", dict.fromkeys(many_users + one_users, PASSWORD)
        )
        for i, name in enumerate(many_users + one_users):
            imap.append(name, "INBOX", [make_dsn(f"gone-{i}@example.org", n=i)])
        out(
            f"stack: kafka {kafka.bootstrap}, dovecot 127.0.0.1:{imap.port}, "
            f"{len(many_users) + 1} users with one DSN each (up in {time.monotonic() - t:.1f} s)"
        )
        many, _ = start_service(kafka, imap, many_users, workdir)
        one, _ = start_service(kafka, imap, one_users, workdir)
        deadline = time.monotonic() + args.ready_deadline
        took = wait_caught_up(many, args.mailboxes, deadline)
        wait_caught_up(one, 1, deadline)
        out(
            f"{args.mailboxes} mailboxes ready and caught up {took:.1f} s after start; "
            f"settling {args.settle:.0f} s, then sampling {args.window:.0f} s"
        )
        time.sleep(args.settle)
        fig = measure({"many": many, "one": one}, args.window)
        out(
            f"window {fig['many']['seconds']:.1f} s; load average "
            f"{tuple(round(x, 2) for x in os.getloadavg())}"
        )
        out()
        per = report(fig, args.mailboxes)
        warnings = sum(1 for e in many.log_events() if e.get("level") in ("warning", "error"))
        out(f"warnings/errors logged by the {args.mailboxes}-mailbox process: {warnings}")
        if args.json:
            out(
                json.dumps(
                    {"machine": facts, "args": vars(args), "figures": fig, "per": per},
                    default=str,
                    sort_keys=True,
                )
            )
        return 0
    except KeyboardInterrupt:
        out("interrupted: stopping the services and servers")
        return 130
    finally:
        for svc in SERVICES:
            with contextlib.suppress(Exception):
                svc.stop(timeout=20)
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
