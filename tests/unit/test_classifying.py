"""The classification pool: results identical to in-process parse, deadlines, supervision,
and worker processes that never outlive their parent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bounce_stream.classifying import (
    _BOOT,
    _FRAME,
    _PACKAGE_ROOT,
    ClassifyFailure,
    ClassifyPool,
    PoolClosed,
    from_plain,
    to_plain,
)
from bounce_stream.detection import ParseOptions, ParseResult, parse
from bounce_stream.metrics import Metrics
from tests.integration.pipeline import make_dsn, make_not_bounce
from tests.unit.classify_targets import EXIT_MARKER, HANG_MARKER

SAMPLES = Path(__file__).parent / "detection" / "samples"
REPO = Path(__file__).resolve().parents[2]
OPTIONS = ParseOptions(verp_separator="+")


def _messages() -> list[bytes]:
    samples = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]
    return [*samples, make_dsn("a@example.org", n=1), make_not_bounce(2), b"\x80\xff\r\n\r\n"]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_until(condition: object, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "condition not reached in time"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def metrics() -> Metrics:
    return Metrics.create(CollectorRegistry())


@pytest.fixture
async def hanging_pool(metrics: Metrics) -> AsyncIterator[ClassifyPool]:
    """One worker running ``hang_on_marker``, a 1 s deadline."""
    pool = ClassifyPool(
        OPTIONS,
        workers=1,
        timeout=1.0,
        metrics=metrics,
        target="tests.unit.classify_targets:hang_on_marker",
    )
    await pool.start()
    yield pool
    await pool.stop()


def test_plain_form_round_trips_every_result() -> None:
    """from_plain(to_plain(r)) equals r for every sample, a non-bounce and an unreadable one."""
    for raw in _messages():
        result = parse(raw, OPTIONS)
        assert from_plain(to_plain(result)) == result


async def test_pool_gives_exactly_what_parse_gives_in_process() -> None:
    """Classified by two workers, every message gives the same result as parse() here."""
    messages = _messages()
    pool = ClassifyPool(OPTIONS, workers=2, timeout=30)
    await pool.start()
    try:
        outcomes = await pool.classify_all(messages * 3)
    finally:
        await pool.stop()
    assert outcomes == [parse(raw, OPTIONS) for raw in messages * 3]
    assert any(isinstance(o, ParseResult) and o.bounces for o in outcomes)


async def test_message_over_deadline_times_out_and_the_next_is_classified(
    hanging_pool: ClassifyPool, metrics: Metrics
) -> None:
    """A hanging message fails with cause timeout, its worker is replaced, neighbours pass."""
    good = make_dsn("before@example.org")
    stuck = make_dsn("stuck@example.org").replace(
        b"\r\n\r\n", b"\r\n" + HANG_MARKER + b"\r\n\r\n", 1
    )
    after = make_dsn("after@example.org")
    await hanging_pool.classify(good)  # the first worker is up
    [first_pid] = hanging_pool.pids
    outcomes = await hanging_pool.classify_all([good, stuck, after])
    assert outcomes[0] == parse(good, OPTIONS)
    assert isinstance(outcomes[1], ClassifyFailure)
    assert outcomes[1].cause == "timeout" and "timeout" in outcomes[1].error
    assert outcomes[2] == parse(after, OPTIONS)
    assert hanging_pool.pids and first_pid not in hanging_pool.pids
    assert not _alive(first_pid)
    assert metrics.registry.get_sample_value("bounce_stream_classify_timeouts_total") == 1
    restarts = {"cause": "timeout"}
    sample = "bounce_stream_classify_worker_restarts_total"
    assert metrics.registry.get_sample_value(sample, restarts) == 1


async def test_other_callers_keep_going_while_one_message_hangs(metrics: Metrics) -> None:
    """With two workers, messages submitted while one hangs are classified before its deadline."""
    pool = ClassifyPool(
        OPTIONS,
        workers=2,
        timeout=5.0,
        metrics=metrics,
        target="tests.unit.classify_targets:hang_on_marker",
    )
    await pool.start()
    try:
        await pool.classify_all([make_dsn("warm@example.org")] * 4)
        stuck = asyncio.ensure_future(pool.classify(b"Subject: x\r\n" + HANG_MARKER + b"\r\n\r\n"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        others = await pool.classify_all([make_dsn(f"n{i}@example.org") for i in range(20)])
        took = time.monotonic() - started
        assert all(isinstance(o, ParseResult) and o.bounces for o in others)
        assert not stuck.done() and took < 4.0
        failure = await stuck
        assert isinstance(failure, ClassifyFailure) and failure.cause == "timeout"
    finally:
        await pool.stop()


async def test_worker_killed_from_outside_is_replaced(metrics: Metrics) -> None:
    """SIGKILL of an idle worker: a new one takes its place and classifies the next message."""
    pool = ClassifyPool(OPTIONS, workers=1, timeout=30, metrics=metrics)
    await pool.start()
    try:
        await pool.classify(make_dsn("one@example.org"))
        [pid] = pool.pids
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while pool.pids in ([], [pid]):
            assert time.monotonic() < deadline, "worker not replaced"
            await asyncio.sleep(0.05)
        two = make_dsn("two@example.org")
        assert await pool.classify(two) == parse(two, OPTIONS)
        sample = "bounce_stream_classify_worker_restarts_total"
        assert metrics.registry.get_sample_value(sample, {"cause": "exited"}) == 1
        assert metrics.registry.get_sample_value("bounce_stream_classify_workers") == 1
    finally:
        await pool.stop()


async def test_message_that_kills_its_worker_twice_fails_as_crashed() -> None:
    """A message whose worker dies is tried once more, then fails with cause crashed."""
    pool = ClassifyPool(
        OPTIONS, workers=1, timeout=30, target="tests.unit.classify_targets:exit_on_marker"
    )
    await pool.start()
    try:
        killer = b"Subject: x\r\n" + EXIT_MARKER + b"\r\n\r\nbody\r\n"
        after = make_dsn("after@example.org")
        outcomes = await pool.classify_all([killer, after])
        assert isinstance(outcomes[0], ClassifyFailure) and outcomes[0].cause == "crashed"
        assert outcomes[1] == parse(after, OPTIONS)
    finally:
        await pool.stop()


async def test_stop_ends_every_worker_and_refuses_new_work() -> None:
    """After stop() no worker process remains and classify raises PoolClosed."""
    pool = ClassifyPool(OPTIONS, workers=2, timeout=30)
    await pool.start()
    await pool.classify_all([make_dsn(f"s{i}@example.org") for i in range(4)])
    deadline = time.monotonic() + 30
    while len(pool.pids) < 2:
        assert time.monotonic() < deadline, "second worker never started"
        await asyncio.sleep(0.05)
    pids = pool.pids
    await pool.stop()
    await pool.stop()  # safe twice
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(PoolClosed):
        await pool.classify(make_dsn("late@example.org"))


async def test_workers_inherit_no_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A password set through BOUNCE_STREAM__* variables is not in a worker's environment."""
    monkeypatch.setenv("BOUNCE_STREAM__MAILBOXES__0__PASSWORD", "hunter2")
    monkeypatch.setenv("IMAP_PASSWORD", "hunter3")
    pool = ClassifyPool(
        OPTIONS, workers=1, timeout=30, target="tests.unit.classify_targets:environment_names"
    )
    await pool.start()
    try:
        outcome = await pool.classify(b"Subject: x\r\n\r\n")
    finally:
        await pool.stop()
    assert isinstance(outcome, ParseResult) and outcome.error is not None
    names = outcome.error.split()
    assert "BOUNCE_STREAM__MAILBOXES__0__PASSWORD" not in names
    assert "IMAP_PASSWORD" not in names


# A parent that starts a pool, has one worker stuck on a hanging message, prints the worker
# pids and waits to be killed.
_PARENT = """
import asyncio, json, sys
from bounce_stream.classifying import ClassifyPool
from bounce_stream.detection import ParseOptions

async def main():
    pool = ClassifyPool(ParseOptions(), workers=2, timeout=3600,
                        target="tests.unit.classify_targets:hang_on_marker")
    await pool.start()
    while len(pool.pids) < 2:
        await asyncio.sleep(0.05)
    hang = b"Subject: x\\r\\nX-Test-Hang: forever\\r\\n\\r\\n"
    stuck = asyncio.ensure_future(pool.classify(hang))
    await asyncio.sleep(0.3)
    print(json.dumps(pool.pids), flush=True)
    await stuck

asyncio.run(main())
"""


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PARENT],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_workers_die_when_their_parent_is_sigkilled(parent: subprocess.Popen[str]) -> None:
    """SIGKILL of the service process ends its workers, the busy one included, within seconds."""
    assert parent.stdout is not None
    pids = json.loads(parent.stdout.readline())
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    parent.kill()
    parent.wait()
    _wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=10)


def test_a_busy_worker_exits_when_its_lifeline_closes() -> None:
    """The portable fallback: EOF on the lifeline pipe ends a worker stuck on a message."""
    read_fd, write_fd = os.pipe()
    target = "tests.unit.classify_targets:hang_on_marker"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-c", _BOOT, _PACKAGE_ROOT, target, "{}"),
            str(os.getpid()),
            str(read_fd),
            "3600",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        pass_fds=(read_fd,),
    )
    os.close(read_fd)
    try:
        assert worker.stdin is not None and worker.stdout is not None
        assert worker.stdout.read(_FRAME.size + 5)[_FRAME.size :] == b"ready"
        stuck = b"Subject: x\r\n" + HANG_MARKER + b"\r\n\r\n"
        worker.stdin.write(_FRAME.pack(len(stuck)) + stuck)
        worker.stdin.flush()
        time.sleep(0.3)
        assert worker.poll() is None  # busy on the message, parent (this process) alive
        os.close(write_fd)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


async def test_messages_queued_behind_a_hanging_one_are_handed_to_another_worker() -> None:
    """Messages sent to a worker behind a hanging message are classified by the other one."""
    pool = ClassifyPool(
        OPTIONS, workers=2, timeout=8.0, target="tests.unit.classify_targets:hang_on_marker"
    )
    await pool.start()
    try:
        deadline = time.monotonic() + 30
        while len(pool.pids) < 2:
            assert time.monotonic() < deadline, "workers did not start"
            await asyncio.sleep(0.05)
        hang = b"Subject: x\r\n" + HANG_MARKER + b"\r\n\r\n"
        goods = [make_dsn(f"q{i}@example.org") for i in range(20)]
        # Submitted together: the worker that takes the hanging message also takes most of
        # the others into its in-flight window.
        stuck = asyncio.ensure_future(pool.classify(hang))
        others = asyncio.ensure_future(pool.classify_all(goods))
        done, _ = await asyncio.wait({stuck, others}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {others}
        assert others.result() == [parse(raw, OPTIONS) for raw in goods]
        failure = await stuck
        assert isinstance(failure, ClassifyFailure) and failure.cause == "timeout"
    finally:
        await pool.stop()
