"""Confluent framing with a Schema Registry: ids registered at start, values framed with them."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import fastavro
import pytest

from dev.stack import DovecotServer, KafkaNode
from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    kcat_raw,
    make_dsn,
    recipients,
)
from tests.registry_double import running_registry

pytestmark = pytest.mark.integration


def test_events_use_registered_schema_ids(
    kafka: KafkaNode, dovecot: DovecotServer, imap_user: tuple[str, str], stack_dir: Path
) -> None:
    """With schema_registry.url set, events carry magic 0 + the registered id and decode with it."""
    user, password = imap_user
    setup = Setup.create(kafka, dovecot, user, password, stack_dir)
    rcpts = recipients("c", 4)
    setup.append([make_dsn(r) for r in rcpts])
    with running_registry() as registry:
        (setup.workdir / "registry-password").write_text(registry.password)
        setup.overrides["schema_registry"] = {
            "url": registry.url,
            "username": registry.username,
            "password_file": str(setup.workdir / "registry-password"),
        }
        svc = ServiceProcess(setup)
        try:
            svc.wait_ready()
            # The checkpoint is Confluent-framed too; wait on the events instead.
            records: list[tuple[bytes | None, bytes | None, dict[str, str]]] = []
            for _ in range(200):
                records = kcat_raw(kafka, setup.topics.events)
                if len(records) >= len(rcpts):
                    break
                time.sleep(0.2)
            consumed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bounce_stream",
                    "consume",
                    "--config",
                    str(svc.config),
                    "--idle-timeout",
                    "2",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        finally:
            assert svc.stop() == 0
        subject = f"{setup.topics.events}-value"
        assert subject in registry.subjects
        (schema_id,) = registry.subjects[subject]
        schema = fastavro.parse_schema(json.loads(registry.schemas[schema_id]))
    assert len(records) == len(rcpts)
    for key, value, headers in records:
        assert value is not None and value[0] == 0
        assert struct.unpack_from(">I", value, 1)[0] == schema_id
        record = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema)
        assert isinstance(record, dict) and record["recipient"].encode() == key
        assert "format=confluent" in headers["content-type"]
        assert headers["avro.schema.id"] == str(schema_id)
    lines = [json.loads(line) for line in consumed.splitlines() if line.strip()]
    assert sorted(line["value"]["recipient"] for line in lines) == sorted(r.lower() for r in rcpts)
