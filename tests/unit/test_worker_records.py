"""What one batch turns into: events, or one dead letter per message that cannot give them.

A message whose values cannot be encoded (a lying RFC822.SIZE, a recipient no UTF-8 can
hold) is dead-lettered instead of stopping the mailbox; UIDs beyond RFC 3501's 32 bits never
enter a batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from bounce_stream.batches import Batch
from bounce_stream.classifying import ClassifyFailure, ClassifyPool
from bounce_stream.detection import ParseOptions, parse
from bounce_stream.encoding.avro import Decoder
from bounce_stream.mailbox.imap import FetchedMessage, MessageInfo
from bounce_stream.metrics import Metrics
from bounce_stream.publishing.kafka import KafkaUnavailable, OutRecord
from bounce_stream.service import build_codecs
from bounce_stream.settings import Settings
from bounce_stream.worker import MAX_UID, MailboxWorker, Position
from tests.integration.pipeline import make_dsn


@pytest.fixture
async def worker() -> MailboxWorker:
    settings = Settings.model_validate(
        {
            "mailboxes": [{"name": "main", "host": "127.0.0.1", "username": "u", "password": "p"}],
            "dead_letter": {"max_raw_bytes": 4096},
        }
    )
    codecs = await build_codecs(settings)
    pool = ClassifyPool(ParseOptions(), workers=1, timeout=10)  # never started here
    w = MailboxWorker(
        settings.mailboxes[0],
        settings.kafka,
        settings.dead_letter,
        settings.instance,
        codecs,
        Metrics.create(CollectorRegistry()),
        _no_topics,
        asyncio.Event(),
        pool,
    )
    w._position = Position(uidvalidity=7, last_uid=0)
    return w


async def _no_topics() -> None:
    return None


def _decode(worker: MailboxWorker, record: OutRecord) -> dict[str, Any]:
    decoder: Decoder = worker._codecs.decoder
    return decoder.decode(record.value)


def _fetched(uid: int, raw: bytes) -> FetchedMessage:
    return FetchedMessage(uid=uid, size=len(raw), internal_date=None, raw=raw)


def _batch(fetched: list[FetchedMessage], oversized: list[MessageInfo] | None = None) -> Batch:
    uids = [m.uid for m in fetched] + [i.uid for i in oversized or []]
    return Batch(fetched, oversized or [], max(uids), 0.0)


def test_lying_size_beyond_a_long_is_dead_lettered_by_reference(worker: MailboxWorker) -> None:
    """An RFC822.SIZE of 10^23 gives a dead letter (size capped, real figure in the error)."""
    huge = 10**23
    records, tally = worker._build_records(_batch([], [MessageInfo(5, huge, None)]), [])
    [record] = records
    value = _decode(worker, record)
    assert value["uid"] == 5 and value["raw"] == b"" and value["truncated"]
    assert value["size"] == 2**63 - 1 and str(huge) in value["error"]
    assert tally.dead == {"oversized": 1} and tally.keep == {5}


def test_events_that_cannot_be_encoded_dead_letter_that_message_only(
    worker: MailboxWorker,
) -> None:
    """A recipient with a lone surrogate dead-letters its message whole; the neighbour publishes."""
    good_raw, bad_raw = make_dsn("good@example.org"), make_dsn("bad@example.org")
    good = parse(good_raw)
    bad = parse(bad_raw)
    broken = dataclasses.replace(bad.bounces[0], recipient="bad\udc80@example.org")
    # Two recipients: the first encodes, the second cannot; neither may be published.
    bad = dataclasses.replace(bad, bounces=(bad.bounces[0], broken))
    batch = _batch([_fetched(1, good_raw), _fetched(2, bad_raw)])
    records, tally = worker._build_records(batch, [good, bad])
    settings = worker._kafka
    events = [r for r in records if r.topic == settings.events_topic]
    dead = [_decode(worker, r) for r in records if r.topic == settings.dead_letter_topic]
    assert [r.key for r in events] == [b"good@example.org"]
    assert [d["uid"] for d in dead] == [2]
    assert dead[0]["raw"] == bad_raw and "cannot be encoded" in dead[0]["error"]
    assert tally.dead == {"unencodable": 1} and sum(tally.events.values()) == 1


def test_classification_timeout_is_dead_lettered_with_its_cause(worker: MailboxWorker) -> None:
    """A ClassifyFailure from the pool becomes a dead letter counted under its cause."""
    raw = make_dsn("slow@example.org")
    failure = ClassifyFailure("timeout", "classification timeout: not classified within 10 s")
    records, tally = worker._build_records(_batch([_fetched(3, raw)]), [failure])
    [record] = records
    value = _decode(worker, record)
    assert value["uid"] == 3 and value["raw"] == raw and "timeout" in value["error"]
    assert tally.dead == {"timeout": 1} and not tally.events


def test_error_text_with_a_lone_surrogate_still_encodes(worker: MailboxWorker) -> None:
    """Hostile text inside a detection error cannot make the dead letter itself fail."""
    raw = b"Subject: x\r\n\r\n"
    failure = ClassifyFailure("crashed", "broken \udcff text")
    records, _ = worker._build_records(_batch([_fetched(4, raw)]), [failure])
    assert "broken" in _decode(worker, records[0])["error"]


def test_uids_beyond_32_bits_never_enter_a_batch(worker: MailboxWorker) -> None:
    """UID 2^70 from a hostile SEARCH answer is dropped (and counted as an IMAP error)."""
    worker._refill([3, MAX_UID, MAX_UID + 1, 2**70])
    assert worker._planner.candidates(0) == [3, MAX_UID]
    errors = worker._metrics.registry.get_sample_value(
        "bounce_stream_imap_errors_total", {"mailbox": "main", "reason": "protocol"}
    )
    assert errors == 1


class _Publisher:
    """Stands in for the transactional producer: records what it is given, or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[list[OutRecord]] = []

    async def publish(self, records: list[OutRecord]) -> None:
        if self.fail:
            raise KafkaUnavailable("broker gone")
        self.published.append(records)


async def test_backoff_resets_on_a_commit_and_not_on_a_failed_one(worker: MailboxWorker) -> None:
    """Only a committed transaction starts the reconnect back-off over."""
    for backoff in (worker._imap_backoff, worker._kafka_backoff):
        for _ in range(6):
            backoff.next_delay()
    worker._publisher = _Publisher(fail=True)  # type: ignore[assignment]
    with pytest.raises(KafkaUnavailable):
        await worker._commit([], [], messages=0)
    assert worker._imap_backoff.next_delay() > 1.0
    worker._publisher = _Publisher()  # type: ignore[assignment]
    await worker._commit([], [], messages=0)
    assert worker._imap_backoff.next_delay() <= 1.0  # reconnect_initial_seconds
    assert worker._kafka_backoff.next_delay() <= 1.0  # retry_initial_seconds
