"""`bounce-stream suppress` when the events topic does not exist: a clear refusal, exit 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dev.stack import KafkaNode
from tests.integration.suppression import World

pytestmark = pytest.mark.integration


def _suppress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bounce_stream", "suppress", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCE_STREAM_")},
    )


def _topics(kafka: KafkaNode) -> set[str]:
    """The broker's topics, as kcat (an independent client) lists them."""
    listing = subprocess.run(
        ["kcat", "-b", kafka.bootstrap, "-L", "-J"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {t["topic"] for t in json.loads(listing.stdout)["topics"]}


def test_suppress_exits_4_naming_the_missing_events_topic_and_creates_nothing(
    kafka: KafkaNode, tmp_path: Path
) -> None:
    """Without the events topic, `suppress` and `suppress release` stop at once with exit 4 and
    a message naming the topic and what creates it; no topic is created by them."""
    world = World(kafka, tmp_path)
    config = world.config()
    started = time.monotonic()
    serve = _suppress("--config", str(config))
    took = time.monotonic() - started
    release = _suppress("release", "--config", str(config), "a@example.org")

    for result in (serve, release):
        assert result.returncode == 4, result.stdout + result.stderr
        assert f"the events topic '{world.events_topic}' does not exist" in result.stderr
        assert "`bounce-stream run` creates it" in result.stderr
        assert "Traceback" not in result.stderr
    assert took < 60  # it does not wait for the topic
    made = {world.events_topic, world.recipients_topic, world.suppressions_topic}
    assert not made & _topics(kafka)
