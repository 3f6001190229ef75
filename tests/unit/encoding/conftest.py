"""A stand-in for the Confluent Schema Registry REST API, served on 127.0.0.1 from a thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.registry_double import REGISTRY_PASSWORD, REGISTRY_USER, FakeRegistry, running_registry

__all__ = ["REGISTRY_PASSWORD", "REGISTRY_USER", "FakeRegistry"]


@pytest.fixture
def sample_records() -> dict[str, dict[str, Any]]:
    """One fully populated record per schema name, every optional field set."""
    when = datetime(2026, 11, 25, 20, 0, 1, 123000, tzinfo=UTC)
    return {
        "bounce_event": {
            "event_id": "0b3f6a52-3c1e-5d7a-9a53-2e6c1b7d8e90",
            "detected_at": when,
            "mailbox": "imap://bounces@mail.example.org:993/INBOX",
            "uid": 4242,
            "uidvalidity": 1700000000,
            "bounce_message_id": "<bounce-1@mx.example.net>",
            "recipient": "alice@example.com",
            "action": "failed",
            "status": "5.1.1",
            "reply_code": "550",
            "diagnostic_code": "550 5.1.1 <alice@example.com>: user unknown",
            "diagnostic_type": "smtp",
            "reason": "userunknown",
            "hard_bounce": True,
            "bounce_type": "hard",
            "remote_mta": "mx.example.com",
            "reporting_mta": "mta.example.net",
            "smtp_command": "RCPT",
            "feedback_type": None,
            "arrival_date": when,
            "original_message_id": "<orig-1@sender.example.org>",
            "tracking_id": "trk-123",
            "envelope_id": "env-9",
            "verp_recipient": "alice@example.com",
            "original_sender": "news@sender.example.org",
            "original_subject": "Hello \u00e9t\u00e9",
            "detected_by": "rfc3464",
            "extracted_headers": {"X-Campaign-ID": "spring-26", "List-Id": "<news.sender.test>"},
        },
        "mailbox_checkpoint": {
            "mailbox": "imap://bounces@mail.example.org:993/INBOX",
            "uidvalidity": 1700000000,
            "last_uid": 4242,
            "committed_at": when,
            "messages": 17,
            "instance": "bounce-stream-0",
        },
        "dead_letter": {
            "mailbox": "imap://bounces@mail.example.org:993/INBOX",
            "uid": 4243,
            "uidvalidity": 1700000000,
            "error": "not an Internet message",
            "size": 5,
            "raw": b"\x00\xffjunk",
            "truncated": False,
            "failed_at": when,
        },
    }


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    """A fake registry listening on an ephemeral 127.0.0.1 port for one test."""
    with running_registry() as registry:
        yield registry
