"""What `suppress` takes in besides the policy: its group's session timeout setting, and how
an event that cannot be read is told apart (schema it cannot resolve vs. garbage bytes)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bounce_stream.encoding import (
    AvroSchema,
    DecodeError,
    Decoder,
    SchemaResolutionError,
    bounce_event_schema,
    make_encoder,
)
from bounce_stream.encoding.schemas import fingerprint_display
from bounce_stream.settings import ConfigError, SuppressionSettings, load_settings


def test_session_timeout_defaults_to_aiokafkas_ten_seconds_with_three_second_heartbeats() -> None:
    """Without the setting the group keeps aiokafka's 10 s session and 3 s heartbeat."""
    cfg = load_settings(None, {}).suppression
    assert cfg.session_timeout_ms == 10_000
    assert cfg.heartbeat_interval_ms == 3000


@pytest.mark.parametrize(("session", "heartbeat"), [(3000, 1000), (6000, 2000), (60_000, 3000)])
def test_heartbeat_is_at_most_a_third_of_the_session_timeout(session: int, heartbeat: int) -> None:
    """A short session timeout brings the heartbeat down to a third of it; a long one keeps 3 s."""
    assert SuppressionSettings(session_timeout_ms=session).heartbeat_interval_ms == heartbeat


@pytest.mark.parametrize("value", ["2999", "1800001"])
def test_session_timeout_out_of_bounds_is_refused(value: str) -> None:
    """Below 3 s (heartbeats under a second) or above the broker's 30 min default maximum."""
    with pytest.raises(ConfigError, match=r"suppression\.session_timeout_ms"):
        load_settings(None, {"BOUNCE_STREAM__SUPPRESSION__SESSION_TIMEOUT_MS": value})


def test_session_timeout_must_stay_below_the_request_timeout() -> None:
    """A session timeout at or above kafka.request_timeout_ms is refused, naming both."""
    env = {
        "BOUNCE_STREAM__SUPPRESSION__SESSION_TIMEOUT_MS": "30000",
        "BOUNCE_STREAM__KAFKA__REQUEST_TIMEOUT_MS": "30000",
    }
    with pytest.raises(ConfigError, match=r"session_timeout_ms.*request_timeout_ms"):
        load_settings(None, env)
    env["BOUNCE_STREAM__KAFKA__REQUEST_TIMEOUT_MS"] = "30001"
    assert load_settings(None, env).suppression.session_timeout_ms == 30000


def test_the_default_session_timeout_never_invalidates_a_short_request_timeout() -> None:
    """Left unset (other commands' configs), it does not make a short request timeout invalid."""
    env = {"BOUNCE_STREAM__KAFKA__REQUEST_TIMEOUT_MS": "5000"}
    assert load_settings(None, env).suppression.session_timeout_ms == 10_000


def _with_new_action(symbol: str) -> AvroSchema:
    """BounceEvent as a newer release might write it: one more Action symbol (no enum default)."""
    definition = copy.deepcopy(dict(bounce_event_schema().definition))
    (action,) = [f for f in definition["fields"] if f["name"] == "action"]
    enum = next(t for t in action["type"] if isinstance(t, dict))
    enum["symbols"].append(symbol)
    return AvroSchema.from_json("bounce_event", json.dumps(definition))


def _event(action: str) -> dict[str, Any]:
    return {
        "event_id": "e1",
        "detected_at": datetime(2026, 11, 1, tzinfo=UTC),
        "mailbox": "imap://bounces@example.test:143/INBOX",
        "uid": 1,
        "uidvalidity": 1,
        "recipient": "user@example.org",
        "action": action,
        "reason": "userunknown",
        "hard_bounce": True,
        "bounce_type": "hard",
        "detected_by": "test",
    }


def test_a_known_writer_record_the_reader_cannot_hold_is_a_schema_resolution_error() -> None:
    """A well-formed record whose enum symbol the reader lacks raises SchemaResolutionError
    naming both fingerprints and the symbol; records without the new symbol still decode."""
    newer = _with_new_action("quarantined")
    reader = bounce_event_schema()
    decoder = Decoder((newer, reader), reader=reader)
    enc = make_encoder(newer)
    assert decoder.decode(enc.encode(_event("failed")))["action"] == "failed"
    with pytest.raises(SchemaResolutionError) as info:
        decoder.decode(enc.encode(_event("quarantined")))
    assert info.value.writer_fingerprint == newer.fingerprint
    text = str(info.value)
    assert fingerprint_display(newer.fingerprint) in text
    assert fingerprint_display(reader.fingerprint) in text
    assert "quarantined" in text


@pytest.mark.parametrize("cut", ["garbage", "truncated", "trailing"])
def test_bytes_that_are_no_record_of_their_writer_stay_a_plain_decode_error(cut: str) -> None:
    """Garbage, truncated or over-long bodies under a known fingerprint are DecodeError, never
    SchemaResolutionError (suppress skips those, and stops only for the latter)."""
    newer = _with_new_action("quarantined")
    reader = bounce_event_schema()
    frame = make_encoder(newer).encode(_event("quarantined"))
    header = frame[:10]
    body = {
        "garbage": b"\xff" * 40,
        "truncated": frame[10:-5],
        "trailing": frame[10:] + b"\x00",
    }[cut]
    with pytest.raises(DecodeError) as info:
        Decoder((newer, reader), reader=reader).decode(header + body)
    assert not isinstance(info.value, SchemaResolutionError)
