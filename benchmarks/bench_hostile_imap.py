"""Figures for the IMAP adapter against a scripted hostile server (tests/hostile/imap_server.py).

    .venv/bin/python benchmarks/bench_hostile_imap.py [--literal-mb 300] [--cap 90]
        [--timeout 10] [--smoke]

Each case runs in a fresh child process (so peak RSS, VmHWM, is that case's alone) with one
``ImapMailbox`` talking to the scripted server on 127.0.0.1, timeout_seconds=``--timeout``,
max_message_bytes=1 MiB, batch_max_bytes=4 MiB. A case still running after ``--cap`` seconds
is reported as hung and killed. Prints one line per case; asserts nothing.

- giant_literal: a ``{999999999}`` literal of which ``--literal-mb`` MB are sent, then silence;
  peak RSS and how the FETCH ended.
- silent / bye: time until ``connect()`` gives up on a server that greets and goes quiet, or
  greets with BYE.
- dead_close: ``close()`` time after the server dropped the connection (right after SELECT).
- expunge_flood: 50,000 EXPUNGE lines before the SEARCH answer: time and outcome.
- wrong_tag: LOGIN answered with a tag never sent: outcome, and whether the password reached
  the child's stderr (asyncio's default exception handler prints what escapes the protocol).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from benchmarks._smoke import SMOKE_HELP, arm_deadline
from bounce_stream.mailbox.imap import ImapMailbox
from bounce_stream.settings import MailboxSettings
from tests.hostile.imap_server import HostileImapServer, Scenario

PASSWORD = "bench-Secret-7d1f"
MiB = 1 << 20


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _settings(port: int, timeout: float) -> MailboxSettings:
    return MailboxSettings(
        name="hostile",
        host="127.0.0.1",
        port=port,
        username="hostile@example.test",
        password=SecretStr(PASSWORD),
        tls=False,
        timeout_seconds=timeout,
        max_message_bytes=MiB,
        batch_max_bytes=4 * MiB,
    )


async def _case(case: str, literal_mb: int, timeout: float) -> dict[str, Any]:
    scenario = {
        "giant_literal": Scenario.GIANT_LITERAL,
        "silent": Scenario.SILENT,
        "bye": Scenario.BYE,
        "dead_close": Scenario.DEAD_AFTER_SELECT,
        "expunge_flood": Scenario.EXPUNGE_FLOOD,
        "wrong_tag": Scenario.WRONG_TAG,
    }[case]
    server = HostileImapServer(
        scenario,
        PASSWORD,
        messages={1: b"Subject: x\r\n\r\nbody\r\n"},
        literal_bytes=literal_mb * MiB,
    ).start()
    box = ImapMailbox(_settings(server.port, timeout))
    out: dict[str, Any] = {"case": case}
    started = time.perf_counter()
    try:
        await box.connect()
        if case == "dead_close":
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            await box.close()
            out["outcome"] = "closed"
        elif case == "expunge_flood":
            uids = await box.uids_after(0)
            out["outcome"] = f"uids={uids}"
        elif case == "giant_literal":
            got = await box.fetch_bodies([1])
            out["outcome"] = (
                f"fetched={[(m.uid, len(m.raw), getattr(m, 'oversized', None)) for m in got]}"
            )
        else:
            out["outcome"] = "connected"
    except Exception as exc:
        out["outcome"] = f"raised {type(exc).__name__}: {str(exc)[:120]}"
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["literal_sent_mb"] = round(server.literal_sent / MiB, 1)
    out["password_in_outcome"] = PASSWORD in out["outcome"]
    await box.close()
    server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--literal-mb", type=int, default=300)
    parser.add_argument("--cap", type=float, default=90.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="the IMAP timeout_seconds")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_case(args.child, args.literal_mb, args.timeout))))
        return
    if args.smoke:
        args.literal_mb, args.cap, args.timeout = 1, 20.0, 0.5
        arm_deadline()
    for case in ("giant_literal", "silent", "bye", "dead_close", "expunge_flood", "wrong_tag"):
        argv = [sys.executable, __file__, "--child", case, "--literal-mb", str(args.literal_mb)]
        argv += ["--timeout", str(args.timeout)]
        started = time.perf_counter()
        try:
            res = subprocess.run(
                argv, capture_output=True, text=True, timeout=args.cap, check=False
            )
        except subprocess.TimeoutExpired:
            print(json.dumps({"case": case, "outcome": f"hung (killed after {args.cap:.0f} s)"}))
            continue
        lines = res.stdout.strip().splitlines()
        if res.returncode != 0 or not lines:
            tail = res.stderr.strip().splitlines()[-1:] or ["?"]
            took = round(time.perf_counter() - started, 1)
            print(
                json.dumps(
                    {
                        "case": case,
                        "outcome": f"child exited {res.returncode}: {tail[0][:160]}",
                        "seconds": took,
                    }
                )
            )
            continue
        print(lines[-1])
        stderr_lines = len(res.stderr.strip().splitlines())
        if stderr_lines:
            leaked = PASSWORD in res.stderr
            print(
                json.dumps(
                    {"case": case, "stderr_lines": stderr_lines, "password_in_stderr": leaked}
                )
            )


if __name__ == "__main__":
    main()
