"""The benchmark scripts still run: each one's ``--smoke`` case goes from start to end.

Nothing runs the benchmarks between the days someone needs their figures, and they lean on
the package's internals and the test helpers (settings, ``MailboxWorker``, ``Setup``,
``World``): a change there broke two of them unnoticed. A script runs here as a user runs it
(``python benchmarks/X.py --smoke``), in a child process; the test asserts that it exited 0
and printed its closing figures, never what the figures are (they mean nothing at this size).
The scripts that start Kafka and Dovecot get the session's shared servers (``--servers``).

About 15 s in all, so not every script is run: ``SMOKE_RUN`` are, chosen for what they lean
on (private methods, test helpers, internal signatures) per second of run; ``IMPORT_ONLY``
are only imported (their names still exist), each with the reason. Every script is in one
of the two: a new benchmark has to be placed. All of them run with ``--smoke`` by hand
(benchmarks/README.md).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._smoke import SMOKE_DEADLINE_S, write_servers
from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import REPO

pytestmark = pytest.mark.integration

BENCHMARKS = REPO / "benchmarks"


def run_smoke(script: str, *args: str) -> str:
    """Run ``benchmarks/<script> --smoke ARGS`` to its end; its output (stdout + stderr)."""
    proc = subprocess.Popen(
        [sys.executable, str(BENCHMARKS / script), "--smoke", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
    )
    try:
        # The script interrupts itself at its smoke deadline; this is the backstop.
        output, _ = proc.communicate(timeout=SMOKE_DEADLINE_S + 30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # unwinds through the finally that stops its servers
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode == 0, f"{script} --smoke exited {proc.returncode}:\n{output[-4000:]}"
    return output


def assert_printed(output: str, *patterns: str) -> None:
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"no /{pattern}/ in:\n{output[-4000:]}"


@pytest.fixture
def servers(tmp_path: Path, kafka: KafkaNode, dovecot: DovecotServer) -> Path:
    """The shared Kafka and Dovecot, described for a benchmark's ``--servers``."""
    path = tmp_path / "servers.json"
    write_servers(path, kafka, dovecot)
    return path


# Run to their end here (tests below).
SMOKE_RUN = {
    "bench_archive.py",
    "bench_classify.py",
    "bench_rtt.py",
    "bench_suppress.py",
    "fuzz_parse.py",
}
# Imported only; the seconds are their smoke runs on the shared servers on the dev machine.
IMPORT_ONLY = {
    "bench_pipeline.py": "7 s; starts the service through Setup as bench_rtt's committed stream",
    "bench_idle.py": "4-9 s; two services through Setup, as bench_pipeline; the /proc sampling",
    "bench_hostile_imap.py": "4-5 s (six child processes); the scenarios are tests/hostile's",
    "bench_startup.py": "1-1.5 s; runs only the CLI (`--version`, `parse`), which tests cover",
    "bench_parse.py": "0.5 s; calls only detection.parse (and perl)",
    "parse_snapshot.py": "0.8 s; parse and fuzz_parse's mutations, which fuzz_parse runs",
    "audit_regexes.py": "scripts/test.sh runs it whole before pytest",
    "count_instructions.sh": "valgrind: 13 s even on 3 messages; not Python",
}


def test_every_benchmark_script_is_smoke_run_or_imports() -> None:
    """Every script in benchmarks/ is either smoke-run here or imports cleanly."""
    scripts = {p.name for p in BENCHMARKS.iterdir() if p.suffix in (".py", ".sh")}
    scripts.discard("_smoke.py")
    assert scripts == SMOKE_RUN | set(IMPORT_ONLY), "place each benchmark in one of the two"
    modules = sorted(name.removesuffix(".py") for name in scripts if name.endswith(".py"))
    importer = (
        "import importlib, sys\n"
        "sys.path[:0] = sys.argv[1:3]\n"
        "for name in sys.argv[3:]:\n"
        "    importlib.import_module(name)\n"
        "print('imported', len(sys.argv) - 3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", importer, str(BENCHMARKS), str(REPO), *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip() == f"imported {len(modules)}"


@pytest.mark.parametrize(
    ("script", "closing"),
    [
        ("bench_archive.py", r"^ one 1 MiB message  level 9: ratio [\d.]+, [\d.]+ ms per MB$"),
        ("fuzz_parse.py", r"^exceptions: 0 in \d+ cases$"),
        ("bench_classify.py", r"^parent SIGKILL -> both workers gone .* over 1 kills$"),
    ],
)
def test_benchmark_without_servers_runs_to_its_closing_figures(script: str, closing: str) -> None:
    """A benchmark that needs no server runs its smoke case to the end and prints its figures."""
    assert_printed(run_smoke(script), closing)


def test_bench_rtt_runs_drain_push_and_cpu_parts_on_the_shared_servers(servers: Path) -> None:
    """bench_rtt drains through its proxy, times the fetched and committed streams and the CPU."""
    output = run_smoke("bench_rtt.py", "--servers", str(servers))
    assert_printed(
        output,
        r"^ +\+1 ms +[\d.]+ ms \| +\d+/s +10 \| +\d+/s +10 \|",
        r"^  fetched \(fetch path\) .* \(3/3\)",
        r"^  \(service: 1 batches, mean batch [\d.]+ ms of which the Kafka commit [\d.]+ ms\)$",
        r"^  committed, run 1 .* \(3/3\)",
        r"^  ratio: best/best [\d.]+x, median of per-round ratios [\d.]+x$",
    )


def test_bench_suppress_drains_and_restarts_on_the_shared_kafka(servers: Path) -> None:
    """bench_suppress publishes, drains with the processor and times its restart."""
    output = run_smoke("bench_suppress.py", "--servers", str(servers))
    assert_printed(
        output,
        r"^published 40 events in ",
        r"^throughput: 40 events in ",
        r"^restart: 20 recipients rebuilt in .* every partition set up$",
    )
