"""The consumer examples in examples/ decode real bounce-stream events from the test Kafka.

The service publishes events (read from a real Dovecot mailbox) to a private topic; each
example then runs as a user would run it (``python``, ``mvn -q -B ... exec:java``, ``go run``)
and must print every event and the schema fingerprint. Maven and Go fetch their dependencies
into their usual caches (~/.m2, the Go module cache) on the first run only. A missing ``java``,
``mvn`` or ``go`` fails the test (never a skip): the examples are part of what is shipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import REPO, ServiceProcess, Setup, events, make_dsn, recipients
from tests.registry_double import running_registry

pytestmark = pytest.mark.integration

EXAMPLES = REPO / "examples"
SCHEMA_FILE = REPO / "schemas" / "bounce_event.avsc"
COUNT = 5
# Generous: the first Maven run downloads Avro and the Kafka client from Maven Central.
BUILD_TIMEOUT = 900
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Published:
    bootstrap: str
    topic: str
    # (event_id, recipient, reason, status or "-") of every committed event.
    expected: set[tuple[str, str, str, str]]


def _expected(setup: Setup) -> set[tuple[str, str, str, str]]:
    return {
        (e["event_id"], e["recipient"], e["reason"], e["status"] or "-")
        for _, e, _ in events(setup)
    }


def _publish(setup: Setup, prefix: str) -> set[tuple[str, str, str, str]]:
    """Run the service on COUNT fresh DSNs until all their events are committed."""
    setup.append([make_dsn(r, n=i) for i, r in enumerate(recipients(prefix, COUNT))])
    svc = ServiceProcess(setup)
    try:
        svc.wait_ready()
        deadline = time.monotonic() + 60
        while len(found := _expected(setup)) < COUNT:
            assert time.monotonic() < deadline, f"only {len(found)} events:\n{svc.log()[-2000:]}"
            time.sleep(0.3)
    finally:
        assert svc.stop() == 0
    return found


def _new_setup(kafka: KafkaNode, dovecot: DovecotServer, stack_dir: Path) -> Setup:
    user = f"ex-{uuid.uuid4().hex[:10]}@example.test"
    password = uuid.uuid4().hex
    dovecot.add_user(user, password)
    return Setup.create(kafka, dovecot, user, password, stack_dir)


@pytest.fixture(scope="module")
def published(kafka: KafkaNode, dovecot: DovecotServer, stack_dir: Path) -> Published:
    """COUNT single-object events published by the real service to a private topic."""
    setup = _new_setup(kafka, dovecot, stack_dir)
    return Published(kafka.bootstrap, setup.topics.events, _publish(setup, "ex"))


def _fingerprint_shown_by_bounce_stream() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bounce_stream", "schema", "print", "bounce_event"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    fingerprint = json.loads(out)["fingerprint_crc64_avro"]
    assert isinstance(fingerprint, str)
    return fingerprint


def _run_example(argv: list[str], cwd: Path) -> list[str]:
    tool = shutil.which(argv[0])
    if tool is None:
        pytest.fail(f"{argv[0]} not found on PATH: the {cwd.name} example needs it")
    started = time.monotonic()
    res = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    took = time.monotonic() - started
    assert res.returncode == 0, f"{argv} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    print(f"{cwd.name} example ran in {took:.1f}s; printed:\n{res.stdout}")
    # Maven's console may wrap the program's output in colour codes.
    return [ANSI_ESCAPE.sub("", line) for line in res.stdout.splitlines()]


def _check_output(lines: list[str], published: Published) -> None:
    fingerprints = [line.split()[1] for line in lines if line.startswith("fingerprint ")]
    assert fingerprints == [_fingerprint_shown_by_bounce_stream()]
    printed = [tuple(line.split()[1:5]) for line in lines if line.startswith("event ")]
    assert len(printed) == COUNT
    assert set(printed) == published.expected


def _example_args(published: Published) -> list[str]:
    return [published.bootstrap, published.topic, str(SCHEMA_FILE), str(COUNT)]


def test_python_example_decodes_single_object_events(published: Published) -> None:
    """The Python example (aiokafka + fastavro only) prints every published event."""
    lines = _run_example(
        [
            sys.executable,
            str(EXAMPLES / "python" / "consume_bounce_events.py"),
            *_example_args(published),
        ],
        EXAMPLES / "python",
    )
    _check_output(lines, published)
    assert all(line.endswith(" single-object") for line in lines if line.startswith("event "))


def test_python_example_decodes_confluent_framed_events(
    kafka: KafkaNode, dovecot: DovecotServer, stack_dir: Path
) -> None:
    """With a registry, the Python example fetches the writer schema by id and decodes events."""
    setup = _new_setup(kafka, dovecot, stack_dir)
    with running_registry() as registry:
        (setup.workdir / "registry-password").write_text(registry.password)
        setup.overrides["schema_registry"] = {
            "url": registry.url,
            "username": registry.username,
            "password_file": str(setup.workdir / "registry-password"),
        }
        setup.append([make_dsn(r, n=i) for i, r in enumerate(recipients("cf", COUNT))])
        svc = ServiceProcess(setup)
        try:
            svc.wait_ready()
            svc.wait_for_metric("bounce_stream_events_published_total", COUNT, timeout=60)
        finally:
            assert svc.stop() == 0
        env = {**os.environ, "REGISTRY_USER_INFO": f"{registry.username}:{registry.password}"}
        res = subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "python" / "consume_bounce_events.py"),
                kafka.bootstrap,
                setup.topics.events,
                str(SCHEMA_FILE),
                str(COUNT),
                "--registry",
                registry.url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
    assert res.returncode == 0, res.stderr
    printed = [line.split() for line in res.stdout.splitlines() if line.startswith("event ")]
    assert sorted(p[2] for p in printed) == sorted(r.lower() for r in recipients("cf", COUNT))
    assert all(p[3] == "userunknown" and p[5] == "confluent" for p in printed)


def test_java_example_decodes_events_and_prints_javas_fingerprint(published: Published) -> None:
    """The Maven example (BinaryMessageDecoder) prints every event and Java's fingerprint."""
    if shutil.which("java") is None:
        pytest.fail("java not found on PATH: the Java example needs a JDK 17")
    args = " ".join(_example_args(published))
    lines = _run_example(
        ["mvn", "-q", "-B", "compile", "exec:java", f"-Dexec.args={args}"], EXAMPLES / "java"
    )
    _check_output(lines, published)


def test_go_example_decodes_events(published: Published) -> None:
    """The Go example (hamba/avro + franz-go) prints every event and the same fingerprint."""
    lines = _run_example(["go", "run", ".", *_example_args(published)], EXAMPLES / "go")
    _check_output(lines, published)
