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
from bounce_stream.events import event_id
from bounce_stream.mailbox.imap import FetchedMessage, MessageInfo
from bounce_stream.metrics import Metrics
from bounce_stream.publishing.archive import ArchivedMessage, fingerprint_of, read_archived
from bounce_stream.publishing.kafka import KafkaUnavailable, OutRecord
from bounce_stream.service import build_codecs
from bounce_stream.settings import Settings
from bounce_stream.worker import MAX_UID, MailboxWorker, Position
from tests.integration.pipeline import make_dsn, make_not_bounce


async def _worker(**kafka: Any) -> MailboxWorker:
    settings = Settings.model_validate(
        {
            "mailboxes": [{"name": "main", "host": "127.0.0.1", "username": "u", "password": "p"}],
            "dead_letter": {"max_raw_bytes": 4096},
            "kafka": kafka,
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


@pytest.fixture
async def worker() -> MailboxWorker:
    return await _worker()


@pytest.fixture
async def archiving() -> MailboxWorker:
    return await _worker(archive_topic="t.archive", archive_max_bytes=2048)


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


def _archived(worker: MailboxWorker, records: list[OutRecord]) -> list[ArchivedMessage]:
    return [
        read_archived(r.key, r.value, r.headers)
        for r in records
        if r.topic == worker._kafka.archive_topic
    ]


def test_no_archive_record_without_an_archive_topic(worker: MailboxWorker) -> None:
    """The archive is optional: unset, a bounce gives its events and nothing else."""
    records, _ = worker._build_records(
        _batch([_fetched(1, make_dsn("a@example.org"))]), [parse(make_dsn("a@example.org"))]
    )
    assert {r.topic for r in records} == {worker._kafka.events_topic}


def test_bounces_and_dead_letters_are_archived_and_human_mail_is_not(
    archiving: MailboxWorker,
) -> None:
    """Each message that gave events or a dead letter is archived once; a human's is not."""
    bounce, human = make_dsn("a@example.org"), make_not_bounce()
    junk = b"\x00" * 100
    batch = _batch([_fetched(1, bounce), _fetched(2, human), _fetched(3, junk)])
    records, tally = archiving._build_records(batch, [parse(bounce), parse(human), parse(junk)])
    archived = _archived(archiving, records)
    assert [(a.origin.uid, a.raw) for a in archived] == [(1, bounce), (3, junk)]
    assert archived[0].origin.mailbox == archiving.mailbox_id
    assert archived[0].origin.uidvalidity == 7
    assert tally.archived == {"complete": 2} and tally.not_bounce_uids == {2}


def test_archive_key_is_the_fingerprint_of_the_events_ids(archiving: MailboxWorker) -> None:
    """Re-deriving the ids from the archive key gives the ids the events carry."""
    raw = make_dsn("a@example.org")
    result = parse(raw)
    records, _ = archiving._build_records(_batch([_fetched(1, raw)]), [result])
    [archived] = _archived(archiving, records)
    event = _decode(archiving, records[0])
    assert archived.fingerprint == result.fingerprint
    assert event["event_id"] == event_id(archived.fingerprint, "a@example.org")
    assert archived.origin.received_at == event["detected_at"]


def test_a_message_detection_never_finished_is_keyed_by_its_digest(
    archiving: MailboxWorker,
) -> None:
    """A timed-out message has no fingerprint from detection: its key is the byte digest."""
    raw = make_dsn("slow@example.org")
    failure = ClassifyFailure("timeout", "classification timeout")
    records, _ = archiving._build_records(_batch([_fetched(3, raw)]), [failure])
    [archived] = _archived(archiving, records)
    assert archived.fingerprint == fingerprint_of(raw) and archived.raw == raw


def test_a_long_message_is_archived_truncated_and_counted(archiving: MailboxWorker) -> None:
    """Over kafka.archive_max_bytes the archive keeps the first bytes and says truncated."""
    raw = make_dsn("a@example.org") + b"x" * 4000
    records, tally = archiving._build_records(_batch([_fetched(1, raw)]), [parse(raw)])
    [archived] = _archived(archiving, records)
    assert archived.truncated and archived.raw == raw[:2048] and archived.size == len(raw)
    assert tally.archived == {"truncated": 1}


async def test_not_bounces_are_archived_only_when_asked() -> None:
    """With kafka.archive_not_bounces a human's message is archived too."""
    worker = await _worker(archive_topic="t.archive", archive_not_bounces=True)
    human = make_not_bounce()
    records, _ = worker._build_records(_batch([_fetched(2, human)]), [parse(human)])
    assert [a.raw for a in _archived(worker, records)] == [human]
