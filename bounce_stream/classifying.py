"""Classification off the event loop: a small supervised pool of worker processes.

Detection is pure CPU work on hostile input. Run on the event loop, one slow message would
freeze every mailbox, the probes and the Kafka heartbeats. Here each message is classified in
a worker process under a per-message deadline:

- one supervisor task per worker process keeps a few messages in flight on its stdin (raw
  bytes in, a plain tuple out, answers in order); the oldest one is the one being worked on
  and gets ``timeout`` seconds, counted from the previous answer;
- past the deadline the worker is SIGKILLed and replaced, and the message comes back as a
  :class:`ClassifyFailure` with cause ``timeout`` (the caller dead-letters it); the messages
  queued behind a slow one are handed to the other workers long before that;
- a worker that dies on its own (killed from outside, out of memory) is replaced; its message
  is tried once more on another worker, then fails with cause ``crashed``.

Workers die with their parent, even when the parent is SIGKILLed: on Linux the kernel sends
them SIGKILL (``PR_SET_PDEATHSIG``); everywhere, a thread waits for EOF on a "lifeline" pipe
whose only write end the parent holds, and an interval timer whose SIGALRM the worker never
handles ends a worker still on one message long after its deadline (the kernel terminates
it: no Python code has to run, so a message holding the GIL cannot prevent it).

The worker runs the same ``parse`` as ``bounce-stream parse``; :func:`to_plain` /
:func:`from_plain` carry its result across the pipe unchanged (unit tests pin that on the
repository's samples, ``benchmarks/bench_classify.py`` on a whole corpus).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import importlib
import io
import itertools
import json
import os
import pickle
import signal
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Literal

from bounce_stream.detection import Action, Bounce, ParseOptions, ParseResult, Reason
from bounce_stream.logs import get_logger
from bounce_stream.metrics import Metrics

DEFAULT_TARGET = "bounce_stream.detection:parse"
STARTUP_TIMEOUT = 60.0  # s for a new worker to import detection and say it is ready
_FRAME = struct.Struct("!Q")
_READY = b"ready"
_PR_SET_PDEATHSIG = 1
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# What a worker inherits from the environment: nothing that could hold a secret.
_ENV_KEPT = ("PATH", "TZ", "LANG", "LANGUAGE", "TMPDIR", "SYSTEMROOT")
_ENV_KEPT_PREFIXES = ("LC_", "PYTHON")
_BOUNCE_FIELDS = tuple(f.name for f in dataclasses.fields(Bounce))
_REASONS = {reason.value: reason for reason in Reason}
_ACTIONS: dict[str | None, Action | None] = {action.value: action for action in Action}
_ACTIONS[None] = None
# Messages sent ahead to one worker (bounded by count and bytes); at least one is always sent.
_IN_FLIGHT_MESSAGES = 32
_IN_FLIGHT_BYTES = 2 * 1024 * 1024
_LEND_AFTER = 0.2  # s on one message before the ones sent behind it go to other workers
_STDERR_LINES = 20  # lines of a worker's stderr logged per worker process, at most


@dataclass(frozen=True, slots=True)
class ClassifyFailure:
    """A message the pool could not classify: the caller dead-letters it with ``cause``."""

    cause: Literal["timeout", "crashed"]
    error: str


Outcome = ParseResult | ClassifyFailure


class PoolClosed(Exception):
    """The pool was stopped before this message was classified."""


# -- results across the pipe --------------------------------------------------------------


def to_plain(result: ParseResult) -> tuple[Any, ...]:
    """``result`` as tuples of str/int/bool/None/datetime (what the worker sends back)."""
    bounces = tuple(
        tuple(
            value.value if isinstance(value, Reason | Action) else value
            for value in (getattr(bounce, name) for name in _BOUNCE_FIELDS)
        )
        for bounce in result.bounces
    )
    return (bounces, result.bounce_message_id, result.fingerprint, result.error)


def from_plain(plain: tuple[Any, ...]) -> ParseResult:
    """The :class:`ParseResult` that :func:`to_plain` was given."""
    bounces, bounce_message_id, fingerprint, error = plain
    rebuilt = []
    for values in bounces:
        fields = dict(zip(_BOUNCE_FIELDS, values, strict=True))
        fields["reason"] = _REASONS[fields["reason"]]
        fields["action"] = _ACTIONS[fields["action"]]
        rebuilt.append(Bounce(**fields))
    return ParseResult(tuple(rebuilt), bounce_message_id, fingerprint, error)


_REPLY_CLASSES: dict[tuple[str, str], type] = {
    ("datetime", "datetime"): datetime,
    ("datetime", "timezone"): timezone,
    ("datetime", "timedelta"): timedelta,
}


class _PlainUnpickler(pickle.Unpickler):
    """Loads plain data and datetimes only: a reply can never name any other class."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _REPLY_CLASSES:
            return _REPLY_CLASSES[module, name]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a classify reply")


def _loads(data: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(data)).load()


# -- the worker process -------------------------------------------------------------------


def _resolve(target: str) -> Callable[[bytes, ParseOptions], ParseResult]:
    module, _, name = target.partition(":")
    func: Callable[[bytes, ParseOptions], ParseResult] = getattr(
        importlib.import_module(module), name
    )
    return func


def _die_with_parent(parent_pid: int, lifeline_fd: int) -> None:
    """End this process as soon as the parent is gone, however it went."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(lifeline_fd, 1):
                pass
        os._exit(0)  # EOF: the parent's write end is closed, so the parent is gone

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None at EOF (the parent closed the pipe or died)."""
    data = stream.read(size)
    if data is None or len(data) < size:
        return None
    return data


def worker_main(argv: Sequence[str]) -> None:
    """The worker process: read framed messages on stdin, answer framed results on stdout."""
    target, options_json, parent_pid, lifeline_fd, watchdog_s = argv
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the watchdog below relies on it
    _die_with_parent(int(parent_pid), int(lifeline_fd))
    # Frames get private copies of stdin/stdout; anything else printing goes to stderr.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    classify = _resolve(target)
    options = ParseOptions(**json.loads(options_json))
    watchdog = float(watchdog_s)

    def reply(payload: bytes) -> None:
        replies.write(_FRAME.pack(len(payload)) + payload)
        replies.flush()

    reply(_READY)
    while True:
        header = _read_exactly(requests, _FRAME.size)
        if header is None:
            return
        raw = _read_exactly(requests, _FRAME.unpack(header)[0])
        if raw is None:
            return
        # SIGALRM, unhandled, terminates the process if this message outlives the parent's
        # deadline by far (the parent normally kills us first), even while the GIL is held.
        signal.setitimer(signal.ITIMER_REAL, watchdog)
        try:
            result = classify(raw, options)
        except Exception as exc:
            result = ParseResult(error=f"detection failed: {type(exc).__name__}: {exc}"[:500])
        signal.setitimer(signal.ITIMER_REAL, 0)
        reply(pickle.dumps(to_plain(result), protocol=pickle.HIGHEST_PROTOCOL))


# The child's command line: make the parent's copy of the package importable first, so the
# worker always runs the same code as the service that started it.
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from bounce_stream.classifying import worker_main; worker_main(sys.argv[2:])"
)


def _child_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k in _ENV_KEPT or k.startswith(_ENV_KEPT_PREFIXES)
    }


# -- the parent side ----------------------------------------------------------------------


class _WorkerGone(Exception):
    """The worker process exited or closed its pipes."""


@dataclass(slots=True)
class _Job:
    raw: bytes
    future: asyncio.Future[Outcome]
    attempts: int = 0
    lent: bool = False  # a copy was queued for another worker; the first answer wins


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self._stderr_task: asyncio.Task[None] | None = None
        self.exited: asyncio.Future[int] | None = None

    @classmethod
    async def spawn(cls, args: list[str], lifeline_fd: int) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # no current directory on the worker's import path
            "-c",
            _BOOT,
            _PACKAGE_ROOT,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(lifeline_fd,),
            env=_child_env(),
        )
        worker = cls(proc)
        worker._stderr_task = asyncio.create_task(worker._log_stderr())
        worker.exited = asyncio.ensure_future(proc.wait())
        return worker

    async def wait_ready(self, timeout: float) -> None:
        reply = await asyncio.wait_for(self._read(), timeout)
        if reply != _READY:
            raise _WorkerGone("worker did not start")

    def send(self, raws: Sequence[bytes]) -> None:
        """Queue messages on the worker's stdin in one write (:meth:`reply` flushes it)."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(b"".join(part for raw in raws for part in (_FRAME.pack(len(raw)), raw)))

    async def reply(self) -> bytes:
        """Flush what was sent, then read the worker's answer to the oldest message."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise _WorkerGone(str(exc)) from None
        return await self._read()

    async def _read(self) -> bytes:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            header = await stdout.readexactly(_FRAME.size)
            return await stdout.readexactly(_FRAME.unpack(header)[0])
        except asyncio.IncompleteReadError:
            raise _WorkerGone("worker closed its output") from None

    async def _log_stderr(self) -> None:
        """A worker's stderr (a traceback, say) as JSON log lines, bounded."""
        stderr = self.proc.stderr
        assert stderr is not None
        log = get_logger(worker_pid=self.pid)
        logged = 0
        buffered = b""
        while chunk := await stderr.read(4096):
            *lines, buffered = (buffered + chunk).split(b"\n")
            buffered = buffered[-1000:]
            for line in lines:
                if logged < _STDERR_LINES and line.strip():
                    logged += 1
                    text = line[:500].decode("utf-8", "replace")
                    log.warning("classify_worker_stderr", line=text)

    async def stop(self, grace: float = 1.0) -> None:
        """Close stdin (the worker exits at EOF); SIGKILL it if still there after ``grace``."""
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        await self.kill()

    def kill_now(self) -> None:
        """SIGKILL the worker (its pipes then close, which ends any read or write on them)."""
        # os.kill, not Popen.kill: that one first polls, and so may reap the process under
        # asyncio's child watcher, which then logs it as an unknown child.
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    async def kill(self) -> None:
        self.kill_now()
        await self.proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 1.0)


class ClassifyPool:
    """``workers`` supervised classification processes shared by every mailbox.

    ``start()`` / ``stop()`` (safe twice); :meth:`classify_all` never raises for a message:
    a message over the deadline or whose worker died twice comes back as a
    :class:`ClassifyFailure`. :attr:`problem` says why no worker is running, if none is.
    """

    def __init__(
        self,
        options: ParseOptions,
        *,
        workers: int,
        timeout: float,
        metrics: Metrics | None = None,
        target: str = DEFAULT_TARGET,
    ) -> None:
        if workers < 1 or timeout <= 0:
            raise ValueError("a pool needs at least one worker and a positive timeout")
        self._size = workers
        self._timeout = timeout
        self._metrics = metrics
        self._args = [
            target,
            json.dumps(dataclasses.asdict(options)),
            str(os.getpid()),
            "",  # the lifeline fd, known once started
            str(max(3 * timeout, timeout + 30)),
        ]
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._slots: list[asyncio.Task[None]] = []
        self._live: dict[int, _Worker] = {}
        self._lifeline: tuple[int, int] | None = None
        self._closed = False
        self.problem: str | None = "starting"
        self._log = get_logger(component="classify_pool")

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers running now."""
        return list(self._live)

    async def start(self) -> None:
        """Start the supervisors; workers come up in the background (jobs wait for them)."""
        if self._slots or self._closed:
            return
        read_fd, write_fd = os.pipe()  # both non-inheritable; the read end is passed explicitly
        self._lifeline = (read_fd, write_fd)
        self._args[3] = str(read_fd)
        self._slots = [
            asyncio.create_task(self._supervise(i), name=f"classify-worker-{i}")
            for i in range(self._size)
        ]
        self._set_gauge()

    async def stop(self) -> None:
        """Stop every worker; messages still waiting fail with :class:`PoolClosed`."""
        if self._closed:
            return
        self._closed = True
        for task in self._slots:
            task.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(PoolClosed("classification pool stopped"))
        if self._lifeline is not None:
            for fd in self._lifeline:
                os.close(fd)
            self._lifeline = None
        self._set_gauge()

    async def classify(self, raw: bytes) -> Outcome:
        """Classify one message in a worker. Raises :class:`PoolClosed` once stopped."""
        return (await self.classify_all([raw]))[0]

    async def classify_all(self, raws: Sequence[bytes]) -> list[Outcome]:
        """Classify messages on every worker at once; results in the order given."""
        if self._closed or not self._slots:
            raise PoolClosed("classification pool is not running")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Outcome]] = []
        for raw in raws:
            future: asyncio.Future[Outcome] = loop.create_future()
            self._queue.put_nowait(_Job(raw, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    # -- supervision ------------------------------------------------------------------------

    async def _supervise(self, slot: int) -> None:
        """Keep one worker alive and feed it; replace it whenever it has to go."""
        delay = 0.5
        while True:
            worker = await self._start_worker(slot)
            if worker is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            try:
                await self._feed(worker)
            finally:
                self._live.pop(worker.pid, None)
                self._set_gauge()
                await asyncio.shield(worker.stop() if self._closed else worker.kill())

    async def _start_worker(self, slot: int) -> _Worker | None:
        assert self._lifeline is not None
        try:
            worker = await _Worker.spawn(self._args, self._lifeline[0])
        except OSError as exc:
            self._no_worker(slot, f"cannot start a classification worker: {exc.strerror or exc}")
            return None
        try:
            await worker.wait_ready(STARTUP_TIMEOUT)
        except asyncio.CancelledError:
            await asyncio.shield(worker.kill())
            raise
        except (TimeoutError, _WorkerGone) as exc:
            await worker.kill()
            why = "did not start in time" if isinstance(exc, TimeoutError) else "exited"
            self._no_worker(slot, f"classification worker {why} (exit {worker.proc.returncode})")
            return None
        self._live[worker.pid] = worker
        self.problem = None
        self._set_gauge()
        return worker

    def _no_worker(self, slot: int, why: str) -> None:
        self._log.error("classify_worker_failed", slot=slot, error=why)
        if not self._live:
            self.problem = why

    async def _feed(self, worker: _Worker) -> None:
        """Keep ``worker`` busy; return when it must be replaced.

        A few messages are in flight at once, so the worker never waits for the event loop
        between two of them. The worker answers in order, so the oldest message in flight is
        the one it is working on: its clock starts when the previous answer arrives (or when
        it is sent to an idle worker). Past ``_LEND_AFTER`` the messages behind it are lent
        to the other workers; past the deadline the worker is killed, which ends the read
        below.
        """
        loop = asyncio.get_running_loop()
        in_flight: deque[_Job] = deque()
        timer: asyncio.TimerHandle | None = None
        expired = False

        def watch_head() -> None:
            nonlocal timer
            if timer is not None:
                timer.cancel()
            timer = None
            if in_flight:
                timer = loop.call_later(min(_LEND_AFTER, self._timeout), slow, loop.time())

        def slow(started: float) -> None:
            nonlocal timer
            self._lend(in_flight)
            timer = loop.call_at(started + self._timeout, expire)

        def expire() -> None:
            nonlocal expired
            expired = True
            worker.kill_now()

        try:
            while True:
                if not in_flight:
                    job = await self._next_job(worker)
                    if job is None:
                        self._replaced("exited")
                        self._log.warning("classify_worker_lost", worker_pid=worker.pid)
                        return
                    if job.future.done():  # its caller was cancelled
                        continue
                    worker.send([job.raw])
                    in_flight.append(job)
                    watch_head()
                self._top_up(worker, in_flight)
                try:
                    outcome: Outcome = from_plain(_loads(await worker.reply()))
                except (
                    _WorkerGone,
                    pickle.UnpicklingError,
                    KeyError,
                    ValueError,
                    TypeError,
                ) as exc:
                    self._lost(worker, in_flight.popleft(), timed_out=expired, why=str(exc))
                    return
                self._settle(in_flight.popleft(), outcome)
                watch_head()
        finally:
            if timer is not None:
                timer.cancel()
            # Sent but not answered (the worker is going away): another worker takes them.
            for job in in_flight:
                if not job.future.done() and not job.lent:
                    self._queue.put_nowait(job)

    def _lost(self, worker: _Worker, head: _Job, *, timed_out: bool, why: str) -> None:
        """The worker died on ``head``: killed past its deadline, or of its own accord."""
        if timed_out:
            self._settle(head, ClassifyFailure("timeout", self._timeout_text()))
            self._replaced("timeout")
            self._log.warning(
                "classify_timeout",
                worker_pid=worker.pid,
                timeout_s=self._timeout,
                size=len(head.raw),
            )
            return
        head.attempts += 1
        if head.attempts < 2:
            self._queue.put_nowait(head)
        else:
            self._settle(head, ClassifyFailure("crashed", self._crash_text(worker)))
        self._replaced("exited")
        self._log.warning(
            "classify_worker_lost",
            worker_pid=worker.pid,
            error=why[:200],
            retried=head.attempts < 2,
        )

    def _lend(self, in_flight: deque[_Job]) -> None:
        """Queue copies of the messages waiting behind a slow one; the first answer wins."""
        for job in itertools.islice(in_flight, 1, None):
            if not job.lent:
                job.lent = True
                self._queue.put_nowait(_Job(job.raw, job.future, job.attempts))

    def _top_up(self, worker: _Worker, in_flight: deque[_Job]) -> None:
        """Send waiting messages until the in-flight window is full."""
        pending = sum(len(job.raw) for job in in_flight)
        sending: list[bytes] = []
        while (
            len(in_flight) < _IN_FLIGHT_MESSAGES
            and pending < _IN_FLIGHT_BYTES
            and not self._queue.empty()
        ):
            job = self._queue.get_nowait()
            if job.future.done():
                continue
            sending.append(job.raw)
            in_flight.append(job)
            pending += len(job.raw)
        if sending:
            worker.send(sending)

    async def _next_job(self, worker: _Worker) -> _Job | None:
        """The next message to classify, or None if ``worker`` died while waiting for one."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        assert worker.exited is not None
        getting = asyncio.ensure_future(self._queue.get())
        try:
            either: set[asyncio.Future[Any]] = {getting, worker.exited}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            getting.cancel()
            raise
        if getting.done():
            return getting.result()
        getting.cancel()  # a cancelled Queue.get leaves the queue as it was
        return None

    def _timeout_text(self) -> str:
        return (
            f"classification timeout: not classified within {self._timeout:g} s "
            "(detection.timeout_seconds); the worker was killed and replaced"
        )

    @staticmethod
    def _crash_text(worker: _Worker) -> str:
        return (
            "classification worker crashed twice on this message "
            f"(last exit code {worker.proc.returncode})"
        )

    @staticmethod
    def _settle(job: _Job, outcome: Outcome) -> None:
        if not job.future.done():
            job.future.set_result(outcome)

    def _replaced(self, cause: str) -> None:
        if self._metrics is not None:
            self._metrics.classify_worker_restarts.labels(cause=cause).inc()
            if cause == "timeout":
                self._metrics.classify_timeouts.inc()

    def _set_gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.classify_workers.set(len(self._live))
