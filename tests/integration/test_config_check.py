"""``bounce-stream config check`` against a real Kafka broker and a real Dovecot."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from dev.stack import DovecotServer, KafkaNode, free_port
from tests.registry_double import FakeRegistry, running_registry

pytestmark = pytest.mark.integration


def _check(tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "bounce_stream", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM")},
    )


def _mailbox(dovecot: DovecotServer, name: str, user: str, password: str) -> dict[str, Any]:
    return {
        "name": name,
        "host": dovecot.host,
        "port": dovecot.port,
        "tls": False,
        "username": user,
        "password": password,
        "timeout_seconds": 10,
    }


def test_config_check_passes_with_reachable_kafka_and_mailboxes(
    kafka: KafkaNode, dovecot: DovecotServer, imap_user: tuple[str, str], tmp_path: Path
) -> None:
    """Valid config, reachable broker, accepted login: one ok line per check, exit 0."""
    user, password = imap_user
    result = _check(
        tmp_path,
        {
            "kafka": {"bootstrap_servers": kafka.bootstrap},
            "mailboxes": [_mailbox(dovecot, "main", user, password)],
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("ok ") for line in lines)
    assert password not in result.stdout + result.stderr


def test_config_check_reports_each_failure_and_exits_1_without_secrets(
    dovecot: DovecotServer, imap_user: tuple[str, str], tmp_path: Path
) -> None:
    """A refused login and a dead broker are two FAIL lines, exit 1, and no password printed."""
    user, password = imap_user
    wrong = f"Wrong-{uuid.uuid4().hex}"
    port = free_port()
    result = _check(
        tmp_path,
        {
            "kafka": {"bootstrap_servers": f"127.0.0.1:{port}", "request_timeout_ms": 2000},
            "mailboxes": [
                _mailbox(dovecot, "good", user, password),
                _mailbox(dovecot, "bad", user + "x", wrong),
            ],
        },
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 2
    assert any(f"127.0.0.1:{port}" in line for line in failed)
    assert any("login refused" in line for line in failed)
    assert sum(line.startswith("ok ") for line in lines) == 2  # the config and "good"
    assert wrong not in result.stdout + result.stderr
    assert password not in result.stdout + result.stderr


def _registry_config(kafka: KafkaNode, registry: FakeRegistry, password: str) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": kafka.bootstrap},
        "schema_registry": {
            "url": registry.url,
            "username": registry.username,
            "password": password,
        },
    }


def test_config_check_tries_the_schema_registry_when_configured(
    kafka: KafkaNode, tmp_path: Path
) -> None:
    """With schema_registry.url set, the registry is logged into and each value subject asked
    about the shipped schema: an ok line naming the registry, exit 0, no password printed."""
    with running_registry() as registry:
        result = _check(tmp_path, _registry_config(kafka, registry, registry.password))
        asked = [path for method, path in registry.requests if method == "POST"]
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok", "ok", "ok"]
    assert f"schema registry {registry.url}: reachable, 3 subject(s) compatible" in lines[2]
    assert sorted(p.split("/")[3] for p in asked) == sorted(
        f"bounce-stream.{t}-value" for t in ("events", "checkpoints", "dead-letter")
    )
    assert registry.password not in result.stdout + result.stderr


def test_config_check_fails_on_a_refused_registry_login_or_an_incompatible_subject(
    kafka: KafkaNode, tmp_path: Path
) -> None:
    """A wrong registry password and a subject that refuses the shipped schema are each a FAIL
    line and exit 1; Kafka still passes and no password is printed."""
    wrong = f"Wrong-{uuid.uuid4().hex}"
    with running_registry() as registry:
        refused = _check(tmp_path, _registry_config(kafka, registry, wrong))
        registry.subjects["bounce-stream.events-value"] = [registry.id_for('"string"')]
        registry.incompatible.add("bounce-stream.events-value")
        incompatible = _check(tmp_path, _registry_config(kafka, registry, registry.password))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout.splitlines()[1].startswith("ok ")  # Kafka
    fail = refused.stdout.splitlines()[2]
    assert fail.startswith("FAIL") and "HTTP 401" in fail
    assert wrong not in refused.stdout + refused.stderr
    assert incompatible.returncode == 1, incompatible.stdout + incompatible.stderr
    fail = incompatible.stdout.splitlines()[2]
    assert fail.startswith("FAIL") and "incompatible with bounce-stream.events-value" in fail
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in fail
    assert registry.password not in incompatible.stdout + incompatible.stderr
