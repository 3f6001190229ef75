"""A Kafka broker that stops answering (SIGSTOP): the outage is visible while it lasts.

The broker JVM is frozen, not killed: its sockets stay open and nothing is refused, so only a
deadline notices. During the outage the service must log the missed transaction deadline as
JSON, count it in ``bounce_stream_kafka_errors_total`` and answer ``/readyz`` 503 with the
reason; after SIGCONT every event is in Kafka exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

DEADLINE_S = 4


def _wait_for_503(svc: ServiceProcess, timeout: float) -> str:
    """The /readyz body once it answers 503; fails with the log tail if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = svc.get("/readyz")
        if status == 503:
            return body
        time.sleep(0.1)
    raise AssertionError(f"/readyz stayed 200 for {timeout}s:\n{svc.log()[-3000:]}")


def test_frozen_broker_is_logged_counted_and_not_ready_then_exactly_once(
    kafka_factory: Callable[..., KafkaNode],
    dovecot: DovecotServer,
    imap_user: tuple[str, str],
    stack_dir: Path,
    services: list[ServiceProcess],
) -> None:
    """A SIGSTOPped broker: JSON deadline log, kafka_errors up, /readyz 503; then exactly once."""
    node = kafka_factory()
    user, password = imap_user
    setup = Setup.create(
        node,
        dovecot,
        user,
        password,
        stack_dir,
        overrides={
            "kafka": {"transaction_deadline_seconds": DEADLINE_S, "request_timeout_ms": 5000}
        },
    )
    first, second = recipients("o", 10), recipients("o", 10, start=10)
    setup.append([make_dsn(r, n=i) for i, r in enumerate(first)])
    svc = ServiceProcess(setup)
    services.append(svc)
    svc.wait_ready()
    wait_for_checkpoint(setup, 10)
    errors_before = svc.metric("bounce_stream_kafka_errors_total")

    assert node.pid is not None
    os.kill(node.pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        setup.append([make_dsn(r, n=i) for i, r in enumerate(second, start=10)])
        body = _wait_for_503(svc, timeout=DEADLINE_S + 30)
        to_503 = time.monotonic() - stopped_at
        assert f"main: kafka unavailable: transaction not complete within {DEADLINE_S} s" in body
        svc.wait_for_metric("bounce_stream_kafka_errors_total", errors_before + 1, timeout=10)
        logged = [e for e in svc.log_events() if e.get("event") == "kafka_transaction_deadline"]
        assert logged, svc.log()[-3000:]
        assert logged[0]["level"] == "error"
        assert logged[0]["deadline_s"] == DEADLINE_S
        assert logged[0]["waited_s"] >= DEADLINE_S
        # Still frozen: still not ready (the producer cannot be rebuilt meanwhile).
        time.sleep(2)
        assert svc.get("/readyz")[0] == 503
    finally:
        os.kill(node.pid, signal.SIGCONT)
    resumed_at = time.monotonic()
    svc.wait_ready(timeout=120)
    wait_for_checkpoint(setup, 20, timeout=120)
    print(
        f"broker stop -> /readyz 503: {to_503:.1f}s (deadline {DEADLINE_S}s); "
        f"SIGCONT -> ready: {time.monotonic() - resumed_at:.1f}s"
    )
    keys = [k for k, _, _ in events(setup)]
    assert not {k: n for k, n in Counter(keys).items() if n > 1}, "duplicated events"
    assert sorted(keys) == sorted(r.lower() for r in first + second)
    assert svc.proc.poll() is None
