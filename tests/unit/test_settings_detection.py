"""The `detection` section: how many classification workers, and the per-message deadline."""

from __future__ import annotations

import os

import pytest

from bounce_stream.settings import ConfigError, load_settings


def test_defaults_are_two_workers_at_most_and_ten_seconds() -> None:
    """Without configuration: min(2, usable CPUs) workers and a 10 s deadline."""
    settings = load_settings(None, environ={})
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert settings.detection.workers == min(2, cpus or 1)
    assert settings.detection.timeout_seconds == 10.0


def test_environment_sets_workers_and_timeout() -> None:
    """BOUNCE_STREAM__DETECTION__WORKERS / __TIMEOUT_SECONDS override the defaults."""
    env = {
        "BOUNCE_STREAM__DETECTION__WORKERS": "3",
        "BOUNCE_STREAM__DETECTION__TIMEOUT_SECONDS": "2.5",
    }
    settings = load_settings(None, environ=env)
    assert (settings.detection.workers, settings.detection.timeout_seconds) == (3, 2.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [("WORKERS", "0"), ("WORKERS", "65"), ("TIMEOUT_SECONDS", "0"), ("TIMEOUT_SECONDS", "-1")],
)
def test_out_of_range_values_are_refused_naming_the_key(key: str, value: str) -> None:
    """No workers, or a deadline that is not positive, is a configuration error naming the key."""
    with pytest.raises(ConfigError, match=f"detection.{key.lower()}"):
        load_settings(None, environ={f"BOUNCE_STREAM__DETECTION__{key}": value})
