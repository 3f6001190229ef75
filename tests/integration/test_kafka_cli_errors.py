"""Kafka errors of the command line against real brokers: one clear line each, no traceback.

aiokafka reports every connection problem as "Unable to bootstrap"; these tests pin that an
unreachable broker, a TLS failure, a refused SASL login and a listener of another protocol are
told apart, that no secret is printed, and that ``consume`` never creates a missing topic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dev.stack import SASL_MECHANISM, SASL_USERS, KafkaNode, free_port

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "Wr0ng-Kafka-Pa55-5e1f"


@pytest.fixture(scope="module")
def sasl_kafka(kafka_factory: Callable[..., KafkaNode]) -> KafkaNode:
    """A Kafka node with SASL_PLAINTEXT and SASL_SSL listeners next to its PLAINTEXT one."""
    return kafka_factory(sasl=True)


def _consume(tmp_path: Path, kafka: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / f"config-{uuid.uuid4().hex[:6]}.yaml"
    config.write_text(yaml.safe_dump({"kafka": {"request_timeout_ms": 5000, **kafka}}))
    return subprocess.run(
        [sys.executable, "-m", "bounce_stream", "consume", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")},
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _topics(kafka: KafkaNode) -> str:
    listed = subprocess.run(
        ["kcat", "-b", kafka.bootstrap, "-L"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return listed.stdout


def test_consume_missing_topic_is_one_line_and_never_creates_it(
    kafka: KafkaNode, tmp_path: Path
) -> None:
    """consume on a missing topic exits 1 with one line naming it; the topic is not created."""
    topic = f"missing-{uuid.uuid4().hex[:8]}"
    result = _consume(
        tmp_path,
        {"bootstrap_servers": kafka.bootstrap, "events_topic": topic},
        "--idle-timeout",
        "1",
    )
    line = _one_line_error(result)
    assert line == f"bounce-stream: Kafka: topic {topic!r} does not exist"
    assert f'topic "{topic}"' not in _topics(kafka)


def test_unreachable_broker_is_reported_as_unreachable(tmp_path: Path) -> None:
    """A port nothing listens on is reported as unreachable."""
    result = _consume(tmp_path, {"bootstrap_servers": f"127.0.0.1:{free_port()}"})
    assert "unreachable: cannot connect to 127.0.0.1:" in _one_line_error(result)


def test_wrong_sasl_password_is_an_authentication_failure(
    sasl_kafka: KafkaNode, tmp_path: Path
) -> None:
    """A refused SASL login says so (not "Unable to bootstrap") and never shows the password."""
    name = next(iter(SASL_USERS))
    result = _consume(
        tmp_path,
        {
            "bootstrap_servers": sasl_kafka.sasl_ssl_bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_username": name,
            "sasl_password": WRONG_PASSWORD,
            "ssl_cafile": str(sasl_kafka.ca_pem_path),
        },
    )
    line = _one_line_error(result)
    assert "SASL authentication failed" in line
    assert WRONG_PASSWORD not in result.stderr + result.stdout


def test_unknown_ca_is_a_tls_failure(sasl_kafka: KafkaNode, tmp_path: Path) -> None:
    """A broker certificate from an unknown CA is reported as a TLS verification failure."""
    name, password = next(iter(SASL_USERS.items()))
    result = _consume(
        tmp_path,
        {
            "bootstrap_servers": sasl_kafka.sasl_ssl_bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_username": name,
            "sasl_password": password,
        },
    )
    line = _one_line_error(result)
    assert "TLS failure" in line and "certificate verify failed" in line
    assert password not in result.stderr


def test_tls_client_on_a_plaintext_listener_is_a_tls_failure(
    sasl_kafka: KafkaNode, tmp_path: Path
) -> None:
    """security_protocol SSL against a PLAINTEXT listener is reported as a TLS failure."""
    result = _consume(
        tmp_path,
        {
            "bootstrap_servers": sasl_kafka.bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": str(sasl_kafka.ca_pem_path),
        },
    )
    assert "TLS failure" in _one_line_error(result)


def test_plaintext_client_on_a_sasl_listener_is_a_protocol_mismatch(
    sasl_kafka: KafkaNode, tmp_path: Path
) -> None:
    """PLAINTEXT against a SASL listener is reported as a protocol mismatch."""
    result = _consume(tmp_path, {"bootstrap_servers": sasl_kafka.sasl_bootstrap})
    assert "protocol mismatch" in _one_line_error(result)
