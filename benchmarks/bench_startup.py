#!/usr/bin/env python3
"""Start-up cost of `bounce-stream parse one.eml`, against a bare interpreter and Sisimai.

Usage: benchmarks/bench_startup.py [--runs N] [--smoke] [FILE]
Runs each command N times (default 15) as a fresh process and prints, per command, the best
and the median wall time and the best CPU time (user + system of the child), then the
import-time split of `parse` (-X importtime: the detection package against everything else).
The best run is the one least disturbed by other load on the machine; on a loaded machine
compare CPU times. Target (issue 13): parse one message in <= 0.25 s.
A benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _smoke import SMOKE_HELP, arm_deadline

DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>
To: bounces@sender.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: rfc822; alice@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B--
"""


# The commands run as from an installed package: with bytecode caches (pip compiles them at
# install; the image has them). PYTHONDONTWRITEBYTECODE in the caller's environment would make
# every run compile the whole package from source again (~0.05 s more on this machine).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd: list[str], runs: int) -> tuple[float, float, float]:
    # One untimed run first: it writes the bytecode caches and warms the file cache.
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False)
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, check=False
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), statistics.median(walls), min(cpus)


def _import_split(cmd: list[str]) -> tuple[float, float]:
    """Seconds of top-level imports under bounce_stream.detection, and of all other imports."""
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=ENV, check=False
    )
    detection = other = 0.0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        if name.startswith(" ") and not name.startswith("  "):  # a top-level import
            seconds = int(cumulative) / 1e6
            if name.strip() == "bounce_stream.detection":
                detection += seconds
            else:
                other += seconds
    return detection, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
        arm_deadline()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "one.eml"
        if args.file is None:
            path.write_bytes(DSN)
        py = sys.executable
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "bounce-stream --version": [py, "-m", "bounce_stream", "--version"],
            "bounce-stream parse one.eml": [py, "-m", "bounce_stream", "parse", str(path)],
        }
        perl = shutil.which("perl")
        sisimai = [perl, "-MSisimai", "-e", "Sisimai->make($ARGV[0])", str(path)] if perl else []
        if sisimai and subprocess.run(sisimai, capture_output=True, check=False).returncode == 0:
            commands["sisimai make one.eml"] = sisimai
        print(f"{'command':<30} {'best wall':>10} {'median':>8} {'best CPU':>9}")
        results = {}
        for label, cmd in commands.items():
            results[label] = _run(cmd, args.runs)
            best, median, cpu = results[label]
            print(f"{label:<30} {best:>9.3f}s {median:>7.3f}s {cpu:>8.3f}s")
        detection, other = _import_split(commands["bounce-stream parse one.eml"])
        print(f"parse imports: bounce_stream.detection {detection:.3f} s, the rest {other:.3f} s")
        best = results["bounce-stream parse one.eml"][0]
        print(f"parse best wall / target 0.25 s: {best / 0.25:.2f}x; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
