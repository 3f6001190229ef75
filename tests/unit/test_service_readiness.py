"""Readiness of a replica that owns no mailbox (more replicas than the hash gives work to)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from bounce_stream.service import Service
from bounce_stream.settings import Settings


def test_replica_owning_no_mailbox_is_ready() -> None:
    """A service with no mailbox to serve reports no readiness problem (/readyz 200)."""
    service = Service(Settings(), CollectorRegistry())
    assert service.workers == []
    assert service.not_ready() == []
