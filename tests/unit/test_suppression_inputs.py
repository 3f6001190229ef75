"""What `suppress` takes in besides the policy: its group's session timeout setting."""

from __future__ import annotations

import pytest

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
