"""``bounce-stream schema print|register|check``."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from bounce_stream.cli_schema import schema
from bounce_stream.encoding import all_schemas, dead_letter_schema
from bounce_stream.suppression import codec

REPO = Path(__file__).resolve().parents[3]
AT = datetime(2026, 12, 2, tzinfo=UTC)
SAMPLES: dict[str, dict[str, object]] = {
    "recipient_state": {
        "recipient": "a@example.org",
        "hard_count": 1,
        "soft_count": 0,
        "complaint_count": 0,
        "window": [],
        "last_reason": "userunknown",
        "last_event_id": "e1",
        "suppressed_since": None,
        "updated_at": AT,
    },
    "suppression_changed": {
        "recipient": "a@example.org",
        "change": "suppressed",
        "rule": "hard_bounce",
        "evidence": ["e1"],
        "at": AT,
    },
}

if TYPE_CHECKING:
    from conftest import FakeRegistry


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's BOUNCE_STREAM__* variables out of these tests."""
    for key in list(os.environ):
        if key.startswith("BOUNCE_STREAM__"):
            monkeypatch.delenv(key)


def _config(tmp_path: Path, url: str, password: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"schema_registry:\n  url: {url}\n  username: registry-user\n  password: {password}\n",
        encoding="utf-8",
    )
    return path


def _registry_config(tmp_path: Path, registry: FakeRegistry) -> Path:
    return _config(tmp_path, registry.url, registry.password)


def test_print_one_schema() -> None:
    """`schema print NAME` prints one JSON object with the schema and its fingerprint."""
    result = CliRunner().invoke(schema, ["print", "dead_letter"])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed["fingerprint_crc64_avro"] == dead_letter_schema().fingerprint_hex
    assert printed["full_name"] == "io.bouncestream.DeadLetter"
    assert printed["schema"] == dead_letter_schema().definition


def test_print_all_schemas() -> None:
    """`schema print` without a name prints a JSON array of the five schemas: `run`'s three,
    then the suppression processor's two."""
    result = CliRunner().invoke(schema, ["print"])
    assert result.exit_code == 0
    assert [p["name"] for p in json.loads(result.output)] == [
        *(s.name for s in all_schemas()),
        "recipient_state",
        "suppression_changed",
    ]


@pytest.mark.parametrize(
    ("name", "full_name"),
    [
        ("recipient_state", "io.bouncestream.RecipientState"),
        ("suppression_changed", "io.bouncestream.SuppressionChanged"),
    ],
)
def test_print_suppression_schema_is_its_file_with_the_wire_fingerprint(
    name: str, full_name: str
) -> None:
    """`schema print` shows each suppression schema as in schemas/, with the fingerprint its
    single-object records carry (the encoder's header, most significant byte first)."""
    result = CliRunner().invoke(schema, ["print", name])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    on_disk = json.loads((REPO / "schemas" / f"{name}.avsc").read_text(encoding="utf-8"))
    assert printed["schema"] == on_disk
    assert printed["full_name"] == full_name
    encoder = codec.state_encoder() if name == "recipient_state" else codec.change_encoder()
    frame = encoder.encode(SAMPLES[name])
    assert frame[:2] == b"\xc3\x01"
    assert printed["fingerprint_crc64_avro"] == frame[2:10][::-1].hex()


def test_print_unknown_name_is_a_usage_error() -> None:
    """An unknown schema name is refused by click with exit code 2."""
    result = CliRunner().invoke(schema, ["print", "nope"])
    assert result.exit_code == 2


def test_register_prints_ids(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    """`schema register` registers the five value subjects and prints one id per subject."""
    result = CliRunner().invoke(
        schema, ["register", "--config", str(_registry_config(tmp_path, fake_registry))]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "bounce-stream.events-value\tio.bouncestream.BounceEvent\tid=1",
        "bounce-stream.checkpoints-value\tio.bouncestream.MailboxCheckpoint\tid=2",
        "bounce-stream.dead-letter-value\tio.bouncestream.DeadLetter\tid=3",
        "bounce-stream.recipients-value\tio.bouncestream.RecipientState\tid=4",
        "bounce-stream.suppressions-value\tio.bouncestream.SuppressionChanged\tid=5",
    ]


def test_check_compatible_exits_zero(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    """`schema check` exits 0 when every subject accepts the local schema."""
    config = str(_registry_config(tmp_path, fake_registry))
    CliRunner().invoke(schema, ["register", "--config", config])
    result = CliRunner().invoke(schema, ["check", "--config", config])
    assert result.exit_code == 0
    assert result.stdout.count("\tcompatible") == 5


def test_check_incompatible_exits_one_with_reason(
    tmp_path: Path, fake_registry: FakeRegistry
) -> None:
    """`schema check` exits 1 and prints the registry's reason when a subject is incompatible."""
    config = str(_registry_config(tmp_path, fake_registry))
    CliRunner().invoke(schema, ["register", "--config", config])
    fake_registry.incompatible.add("bounce-stream.events-value")
    result = CliRunner().invoke(schema, ["check", "--config", config])
    assert result.exit_code == 1
    assert "bounce-stream.events-value\tINCOMPATIBLE" in result.stdout
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in result.stdout


def test_registry_error_exits_three_without_secret(
    tmp_path: Path, fake_registry: FakeRegistry
) -> None:
    """A registry refusal exits 3 with a one-line message, no traceback and no password."""
    fake_registry.echo_auth_on_401 = True
    config = str(_registry_config(tmp_path, fake_registry))
    result = CliRunner().invoke(schema, ["register", "--config", config])
    assert result.exit_code == 3
    assert "HTTP 401" in result.stderr
    assert fake_registry.password not in result.output
    assert "Traceback" not in result.output


def test_unreachable_registry_exits_three(tmp_path: Path) -> None:
    """A registry that cannot be reached exits 3 with a message on stderr."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = str(_config(tmp_path, f"http://127.0.0.1:{port}", "pw-abc-123"))
    result = CliRunner().invoke(schema, ["check", "--config", config])
    assert result.exit_code == 3
    assert "unreachable" in result.stderr
    assert "pw-abc-123" not in result.output


def test_bad_config_exits_two(tmp_path: Path) -> None:
    """A ConfigError is printed to stderr and exits 2, without a traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text("schema_registry:\n  nonsense: 1\n", encoding="utf-8")
    result = CliRunner().invoke(schema, ["register", "--config", str(path)])
    assert result.exit_code == 2
    assert "schema_registry.nonsense" in result.stderr
    assert "Traceback" not in result.output


def test_missing_registry_url_exits_two(tmp_path: Path) -> None:
    """Without schema_registry.url, register and check exit 2 explaining what is missing."""
    path = tmp_path / "empty.yaml"
    path.write_text("{}\n", encoding="utf-8")
    for command in ("register", "check"):
        result = CliRunner().invoke(schema, [command, "--config", str(path)])
        assert result.exit_code == 2
        assert "schema_registry.url is not configured" in result.stderr
