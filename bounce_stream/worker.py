"""One mailbox, end to end: IMAP batches -> detection -> Avro -> one Kafka transaction each.

The position (UIDVALIDITY, last UID) lives only in Kafka: it is read back at start and
after any Kafka error whose outcome is unknown, and is written in the same transaction as
the events it covers. Housekeeping (flag/move/delete) happens after the commit, never before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bounce_stream.batches import MAX_UID, Batch, BatchPlanner, assemble
from bounce_stream.classifying import ClassifyFailure, ClassifyPool, Outcome
from bounce_stream.detection import BounceType, ParseResult
from bounce_stream.encoding.avro import Decoder, Encoder
from bounce_stream.events import Source, event_records
from bounce_stream.logs import get_logger
from bounce_stream.mailbox.imap import (
    CONNECTIONS,
    ERROR_REASONS,
    FetchedMessage,
    ImapAuthError,
    ImapError,
    ImapMailbox,
)
from bounce_stream.metrics import Metrics
from bounce_stream.publishing.archive import Origin, archive_record, fingerprint_of
from bounce_stream.publishing.checkpoints import CheckpointStore, Position, transactional_id
from bounce_stream.publishing.kafka import (
    RECORD_OVERHEAD,
    Fenced,
    KafkaUnavailable,
    OutRecord,
    TopicsMissing,
    TransactionalPublisher,
)
from bounce_stream.settings import DeadLetterSettings, KafkaSettings, MailboxSettings

__all__ = ["MAX_UID", "Backoff", "Codecs", "MailboxWorker", "Position", "transactional_id"]

_MAX_LONG = 2**63 - 1
DEAD_LETTER_CAUSES = ("unparseable", "oversized", "timeout", "crashed", "unencodable")


class State(StrEnum):
    STARTING = "starting"
    READY = "ready"
    FENCED = "fenced"
    RETRYING = "retrying"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Codecs:
    event: Encoder
    checkpoint: Encoder
    dead_letter: Encoder
    decoder: Decoder


@dataclass(frozen=True, slots=True)
class _Headers:
    event: tuple[tuple[str, bytes], ...]
    dead_letter: tuple[tuple[str, bytes], ...]


@dataclass(slots=True)
class _Tally:
    """What one batch will have done once committed."""

    messages: int
    events: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)
    not_bounce: int = 0
    # Dead-lettered UIDs whose dead letter does not hold the whole message (by reference or
    # truncated): the mailbox keeps the one full copy, so housekeeping never deletes them.
    keep: set[int] = field(default_factory=set)
    # UIDs that gave neither an event nor a dead letter: a human's mail, say. Housekeeping
    # leaves them alone (or files them in not_bounce_folder), never flags or deletes them.
    not_bounce_uids: set[int] = field(default_factory=set)
    # Messages written to the archive topic: complete, or truncated to archive_max_bytes.
    archived: Counter[str] = field(default_factory=Counter)


class Backoff:
    """Capped exponential back-off with full jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = initial
        self._max = maximum
        self._attempt = 0

    def next_delay(self) -> float:
        cap = min(self._max, self._initial * 2**self._attempt)
        self._attempt = min(self._attempt + 1, 32)
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not cryptography

    def reset(self) -> None:
        self._attempt = 0


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, whichever is first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _settle(task: asyncio.Future[None] | None) -> None:
    """Wait for ``task``, if there is one."""
    if task is not None:
        await task


def _printable(text: str) -> str:
    """``text`` as valid UTF-8 (a lone surrogate from hostile input cannot be encoded)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class MailboxWorker:
    def __init__(
        self,
        mailbox: MailboxSettings,
        kafka: KafkaSettings,
        dead_letter: DeadLetterSettings,
        instance: str,
        codecs: Codecs,
        metrics: Metrics,
        ensure_topics: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
        classifier: ClassifyPool,
    ) -> None:
        self.mailbox = mailbox
        self.mailbox_id = mailbox.mailbox_id
        self._kafka = kafka
        self._dead_letter_settings = dead_letter
        self._codecs = codecs
        # Kafka headers depend only on the encoder: computed once, not per record.
        self._headers = _Headers(tuple(codecs.event.headers()), tuple(codecs.dead_letter.headers()))
        self._checkpoints = CheckpointStore(
            kafka, mailbox.mailbox_id, codecs.checkpoint, codecs.decoder, instance
        )
        self._metrics = metrics
        self._ensure_topics = ensure_topics
        self._stop = stop
        self._classifier = classifier
        self._imap = ImapMailbox(mailbox, on_renewed=self._session_renewed)
        self._publisher: TransactionalPublisher | None = None
        self._position: Position | None = None
        self._planner = BatchPlanner(
            max_messages=mailbox.batch_max_messages,
            max_bytes=mailbox.batch_max_bytes,
            max_message_bytes=mailbox.max_message_bytes,
        )
        self._last_commit = 0.0
        # Reset only by a committed transaction: a server that accepts, serves a fetch and
        # then fails is retried ever more slowly instead of in a tight loop.
        self._kafka_backoff = Backoff(kafka.retry_initial_seconds, kafka.retry_max_seconds)
        self._imap_backoff = Backoff(
            mailbox.reconnect_initial_seconds, mailbox.reconnect_max_seconds
        )
        self.state = State.STARTING
        self.detail = "starting"
        self._key = self.mailbox_id.encode()
        self._log = get_logger(mailbox=mailbox.name)
        self._m = {"mailbox": mailbox.name}
        self._init_series()

    def _init_series(self) -> None:
        """Export every per-mailbox series at 0 from the start, so rate() sees the first event."""
        m, name = self._metrics, self.mailbox.name
        for counter in (
            m.polls,
            m.messages_fetched,
            m.bytes_fetched,
            m.not_bounce,
            m.kafka_errors,
            m.fenced,
        ):
            counter.labels(mailbox=name)
        for reason in ERROR_REASONS:
            m.imap_errors.labels(mailbox=name, reason=reason)
        if self.mailbox.auth.method == "oauth2":
            for connection in CONNECTIONS:
                m.imap_sessions_renewed.labels(mailbox=name, connection=connection)
        for bounce_type in BounceType:
            m.events_published.labels(mailbox=name, bounce_type=bounce_type.value)
        for cause in DEAD_LETTER_CAUSES:
            m.dead_lettered.labels(mailbox=name, cause=cause)
        for outcome in ("committed", "aborted"):
            m.transactions.labels(mailbox=name, outcome=outcome)
        if self._kafka.archive_topic is not None:
            for outcome in ("complete", "truncated"):
                m.archived.labels(mailbox=name, outcome=outcome)

    def _session_renewed(self, connection: str) -> None:
        self._metrics.imap_sessions_renewed.labels(**self._m, connection=connection).inc()

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the mailbox until ``stop`` is set. Never raises: errors are retried."""
        self._m_up(0)
        while not self._stop.is_set():
            try:
                if self._publisher is None:
                    await self._start_kafka()
                    if self._imap.connected:
                        self._reconcile_position()
                if not self._imap.connected:
                    await self._connect_imap()
                self._set_state(State.READY, "ok")
                await self._serve()
            except Fenced as exc:
                await self._on_fenced(str(exc))
            except (KafkaUnavailable, TopicsMissing) as exc:
                self._metrics.kafka_errors.labels(**self._m).inc()
                await self._drop_kafka()
                delay = self._kafka_backoff.next_delay()
                self._retrying("kafka unavailable", exc, delay)
                await sleep_unless(self._stop, delay)
            except ImapError as exc:
                self._metrics.imap_errors.labels(**self._m, reason=exc.reason).inc()
                await self._imap.close()
                delay = self._imap_backoff.next_delay()
                if isinstance(exc, ImapAuthError):
                    delay = self.mailbox.reconnect_max_seconds
                self._retrying("imap unavailable", exc, delay)
                await sleep_unless(self._stop, delay)
            except Exception as exc:
                # A bug hit by one mailbox is logged and retried; it never stops the others.
                self._log.exception("mailbox_error", error=type(exc).__name__)
                await self._drop_kafka()
                await self._imap.close()
                delay = self._imap_backoff.next_delay()
                self._retrying("unexpected error", exc, delay)
                await sleep_unless(self._stop, delay)
        await self.close()

    async def close(self) -> None:
        await self._imap.close()
        await self._drop_kafka()
        self._set_state(State.STOPPED, "stopped")

    def _set_state(self, state: State, detail: str) -> None:
        self.state = state
        self.detail = detail
        self._m_up(1 if state is State.READY else 0)

    def _m_up(self, value: int) -> None:
        self._metrics.mailbox_up.labels(**self._m).set(value)

    def _retrying(self, what: str, exc: BaseException, delay: float) -> None:
        self._set_state(State.RETRYING, f"{what}: {exc}")
        self._log.warning(what.replace(" ", "_"), error=str(exc), retry_in_s=round(delay, 2))

    # -- Kafka -----------------------------------------------------------------------------

    async def _start_kafka(self) -> None:
        """Producer first (fences older owners), then the committed position."""
        await self._ensure_topics()
        kafka = self._kafka
        publisher = TransactionalPublisher(
            kafka,
            transactional_id(kafka.transactional_id_prefix, self.mailbox_id),
            max_request_size=max(self._dead_letter_settings.max_raw_bytes, kafka.archive_max_bytes)
            + RECORD_OVERHEAD,
        )
        await publisher.start()
        self._publisher = publisher
        await self._checkpoints.locate(publisher)
        self._position = await self._checkpoints.position()
        self._planner.clear()
        pos = self._position
        self._log.info(
            "producer_started",
            transactional_id=publisher.transactional_id,
            uidvalidity=pos.uidvalidity if pos else None,
            last_uid=pos.last_uid if pos else None,
        )
        if pos is not None:
            self._metrics.checkpoint_uid.labels(**self._m).set(pos.last_uid)
            self._metrics.checkpoint_uidvalidity.labels(**self._m).set(pos.uidvalidity)

    async def _drop_kafka(self) -> None:
        publisher, self._publisher = self._publisher, None
        self._planner.clear()
        if publisher is not None:
            await publisher.stop()

    async def _on_fenced(self, why: str) -> None:
        """Another instance owns the mailbox: stand by while it is alive, never ping-pong.

        The owner proves it is alive by committing a checkpoint at least every
        ``checkpoint_heartbeat_seconds``; only once it has been quiet for two heartbeats
        (and the fenced back-off has passed) does this instance take the mailbox back.
        """
        self._metrics.fenced.labels(**self._m).inc()
        await self._drop_kafka()
        await self._imap.close()
        backoff = self._kafka.fenced_backoff_seconds
        self._set_state(State.FENCED, "fenced: another instance owns this mailbox")
        self._log.error("producer_fenced", error=why, standby_s=backoff)
        while not self._stop.is_set():
            await sleep_unless(self._stop, backoff)
            try:
                owner = await self._checkpoints.live_owner()
            except KafkaUnavailable as exc:
                self._log.warning("standby_check_failed", error=str(exc))
                continue
            if owner is None:
                self._log.info("reacquiring_mailbox")
                return
            self._log.info("standby", owner=owner)

    # -- IMAP ------------------------------------------------------------------------------

    async def _connect_imap(self) -> None:
        await self._imap.connect()
        self._reconcile_position()
        self._log.info(
            "imap_connected",
            uidvalidity=self._imap.uidvalidity,
            exists=self._imap.exists,
            idle=self._imap.supports_idle,
        )

    def _reconcile_position(self) -> None:
        """Match the committed position with the folder's UIDVALIDITY (after either side
        (re)connects): no checkpoint, or one from a recreated folder, means "from UID 1"."""
        current = self._imap.uidvalidity
        if current > MAX_UID:
            raise ImapError(f"the server sent UIDVALIDITY {current}, beyond RFC 3501's 32 bits")
        pos = self._position
        if pos is not None and pos.uidvalidity != current:
            self._log.warning(
                "uidvalidity_changed",
                checkpoint_uidvalidity=pos.uidvalidity,
                uidvalidity=current,
                action="mailbox was recreated: reading it again from its first UID",
            )
        if pos is None or pos.uidvalidity != current:
            self._position = Position(current, 0)
        self._planner.clear()

    async def _serve(self) -> None:
        """Drain batches; when caught up, wait for news (IDLE) and heartbeat the checkpoint.

        Three stages overlap: while batch k's transaction commits, batch k+1 is fetched and
        classified (unless housekeeping needs the connection after each commit). Transactions
        stay strictly one after another, each holding its own checkpoint, so a failure at any
        point leaves Kafka at a batch boundary.

        Classification runs in the worker processes of the shared pool, never on the loop.
        """
        assert self._position is not None
        heartbeat = self._kafka.checkpoint_heartbeat_seconds
        pipelined = self.mailbox.housekeeping == "none"
        prefetch: asyncio.Future[Batch | None] | None = None
        committing: asyncio.Future[None] | None = None
        after = self._position.last_uid  # the last UID handed on (committed or in flight)
        try:
            while not self._stop.is_set():
                if prefetch is not None:
                    batch, prefetch = await prefetch, None
                else:
                    batch = await self._fetch_batch(after)
                if batch is None:
                    await _settle(committing)
                    committing = None
                    await self._caught_up(heartbeat)
                    continue
                after = batch.cutoff
                if pipelined and self._planner.has_pending_after(after):
                    prefetch = asyncio.ensure_future(self._fetch_batch(after))
                outcomes = await self._classifier.classify_all([m.raw for m in batch.fetched])
                records, tally = self._build_records(batch, outcomes)
                await _settle(committing)
                committing = asyncio.ensure_future(self._commit_batch(batch, records, tally))
                if not pipelined:
                    await _settle(committing)
                    committing = None
        except asyncio.CancelledError:
            if committing is not None:
                committing.cancel()
            raise
        finally:
            if prefetch is not None:
                await self._abandon(prefetch)
            # A transaction in flight is valid work: let it finish (or raise its own error).
            await _settle(committing)

    async def _commit_batch(self, batch: Batch, records: list[OutRecord], tally: _Tally) -> None:
        await self._commit(records, batch.fetched, messages=tally.messages, last_uid=batch.cutoff)
        self._after_commit(batch, tally)
        await self._housekeeping(batch, tally)

    async def _abandon(self, prefetch: asyncio.Future[Batch | None]) -> None:
        """Drop a prefetch; one stopped mid-command leaves the connection in an unknown state."""
        if not prefetch.done():
            prefetch.cancel()
            await self._imap.close()
        with contextlib.suppress(BaseException):
            await prefetch

    async def _caught_up(self, heartbeat: float) -> None:
        now = time.time()
        self._metrics.last_success.labels(**self._m).set(now)
        if now - self._last_commit >= heartbeat:
            await self._commit([], [], messages=0)
        wait = min(
            self.mailbox.idle_timeout_seconds
            if self._imap.supports_idle
            else self.mailbox.poll_interval_seconds,
            heartbeat,
        )
        await self._imap.wait_for_news(wait, self._stop)

    # -- one batch -------------------------------------------------------------------------

    async def _fetch_batch(self, after: int) -> Batch | None:
        """The IMAP half of one bounded batch: messages after UID ``after``, or None."""
        planner = self._planner
        if not planner.has_pending_after(after):
            self._metrics.polls.labels(**self._m).inc()
            self._refill(await self._imap.uids_after(after))
            self._metrics.backlog.labels(**self._m).set(planner.backlog)
            if not planner.backlog:
                return None
        started = time.perf_counter()
        # Metadata comes for up to INFO_AHEAD UIDs at a time: most batches are one round
        # trip, their body FETCH.
        unknown = planner.unknown(after)
        if unknown:
            planner.learn(unknown, await self._imap.fetch_info(unknown))
        candidates = planner.candidates(after)
        plan = planner.plan(after, candidates, planner.known(candidates))
        fetched = await self._imap.fetch_bodies([i.uid for i in plan.chosen])
        # Bodies the adapter read past (the server's size lied) are dead-lettered by reference.
        return assemble(plan, fetched, started)

    def _refill(self, uids: list[int]) -> None:
        """Plan from ``uids``; those beyond IMAP's 32-bit range are logged, never fetched."""
        dropped = self._planner.refill(uids)
        if dropped:
            self._metrics.imap_errors.labels(**self._m, reason="protocol").inc()
            self._log.warning(
                "invalid_uids_ignored",
                count=dropped,
                error="the server sent UIDs beyond the 32-bit range of RFC 3501",
            )

    def _after_commit(self, batch: Batch, tally: _Tally) -> None:
        name = self.mailbox.name
        for bounce_type, count in tally.events.items():
            self._metrics.events_published.labels(mailbox=name, bounce_type=bounce_type).inc(count)
        for cause, count in tally.dead.items():
            self._metrics.dead_lettered.labels(mailbox=name, cause=cause).inc(count)
        self._metrics.not_bounce.labels(**self._m).inc(tally.not_bounce)
        for outcome, count in tally.archived.items():
            self._metrics.archived.labels(mailbox=name, outcome=outcome).inc(count)
        self._planner.committed(batch.cutoff)
        self._metrics.backlog.labels(**self._m).set(self._planner.backlog)
        self._metrics.batch_duration.labels(**self._m).observe(time.perf_counter() - batch.started)

    def _build_records(
        self, batch: Batch, outcomes: list[Outcome]
    ) -> tuple[list[OutRecord], _Tally]:
        """Encode one batch's events and dead letters; count them (metrics move on commit).

        Poison goes to the dead-letter topic: a message detection cannot read, one over the
        classification deadline, or one whose events cannot be encoded never blocks the
        mailbox. A message gives either all its events or one dead letter, never both; with
        an archive topic, each fetched message that gave either is also archived raw. A
        message dead-lettered by reference (never fetched) has no bytes to archive.
        """
        assert self._position is not None
        received_at = datetime.now(UTC)
        source_of = functools.partial(
            Source,
            self.mailbox_id,
            uidvalidity=self._position.uidvalidity,
            detected_at=received_at,
        )
        records: list[OutRecord] = []
        tally = _Tally(messages=batch.messages)
        for msg, outcome in zip(batch.fetched, outcomes, strict=True):
            self._metrics.messages_fetched.labels(**self._m).inc()
            self._metrics.bytes_fetched.labels(**self._m).inc(len(msg.raw))
            source = source_of(uid=msg.uid)
            gave = self._message_records(records, tally, msg, outcome, source)
            if gave or self._kafka.archive_not_bounces:
                self._archive(records, tally, msg, outcome, source)
        for info in batch.dead:
            error = (
                f"message of {info.size} bytes exceeds max_message_bytes "
                f"({self.mailbox.max_message_bytes}); not fetched"
            )
            records.append(self._dead_letter(info.uid, info.size, b"", error, tally))
            tally.dead["oversized"] += 1
            self._log.warning("dead_lettered", uid=info.uid, size=info.size, error="oversized")
        return records, tally

    def _message_records(
        self,
        records: list[OutRecord],
        tally: _Tally,
        msg: FetchedMessage,
        outcome: Outcome,
        source: Source,
    ) -> bool:
        """Add the events or the dead letter of one message; False when it gave neither."""
        if isinstance(outcome, ClassifyFailure):
            self._dead(records, tally, msg, outcome.cause, outcome.error)
            return True
        if outcome.error:
            self._dead(records, tally, msg, "unparseable", outcome.error)
            return True
        try:
            events = [
                (self._event_record(rec), rec["bounce_type"])
                for rec in event_records(outcome, source)
            ]
        except Exception as exc:
            # A value no schema field can hold, or an encoder bug: this message only.
            error = f"its events cannot be encoded: {type(exc).__name__}: {exc}"
            self._dead(records, tally, msg, "unencodable", error)
            return True
        for record, bounce_type in events:
            records.append(record)
            tally.events[bounce_type] += 1
        if not events:
            tally.not_bounce += 1
            tally.not_bounce_uids.add(msg.uid)
        return bool(events)

    def _archive(
        self,
        records: list[OutRecord],
        tally: _Tally,
        msg: FetchedMessage,
        outcome: Outcome,
        source: Source,
    ) -> None:
        """The raw message to the archive topic (if one is configured), in this transaction.

        Keyed by the fingerprint its events' ids come from; a message detection did not
        finish (no fingerprint) by the digest detection gives a message without Message-ID.
        """
        topic = self._kafka.archive_topic
        if topic is None:
            return
        fingerprint = outcome.fingerprint if isinstance(outcome, ParseResult) else ""
        origin = Origin(
            source.mailbox, source.uid, source.uidvalidity, source.detected_at, msg.internal_date
        )
        max_bytes = self._kafka.archive_max_bytes
        records.append(
            archive_record(
                topic, fingerprint or fingerprint_of(msg.raw), msg.raw, origin, max_bytes
            )
        )
        tally.archived["truncated" if len(msg.raw) > max_bytes else "complete"] += 1

    def _dead(
        self,
        records: list[OutRecord],
        tally: _Tally,
        msg: FetchedMessage,
        cause: str,
        error: str,
    ) -> None:
        records.append(self._dead_letter(msg.uid, msg.size, msg.raw, error, tally))
        tally.dead[cause] += 1
        self._log.warning("dead_lettered", uid=msg.uid, cause=cause, error=error[:200])

    def _event_record(self, rec: dict[str, Any]) -> OutRecord:
        return OutRecord(
            self._kafka.events_topic,
            rec["recipient"].encode(),
            self._codecs.event.encode(rec),
            self._headers.event,
        )

    def _dead_letter(self, uid: int, size: int, raw: bytes, error: str, tally: _Tally) -> OutRecord:
        """The dead letter for one message; it never fails to encode (the UID is 32-bit by
        now: see :meth:`_refill`), or the mailbox could never move past the message."""
        assert self._position is not None
        kept = raw[: self._dead_letter_settings.max_raw_bytes]
        value: dict[str, Any] = {
            "mailbox": self.mailbox_id,
            "uid": uid,
            "uidvalidity": self._position.uidvalidity,
            "error": _printable(error[:1000]),
            # A lying RFC822.SIZE may not fit a long; the error text keeps the real figure.
            "size": min(size, _MAX_LONG),
            "raw": kept,
            "truncated": len(kept) < size,
            "failed_at": datetime.now(UTC),
        }
        try:
            encoded = self._codecs.dead_letter.encode(value)
        except Exception as exc:
            value.update(
                raw=b"",
                truncated=True,
                error=f"dead-lettered by reference: its dead letter could not be encoded "
                f"({type(exc).__name__})",
            )
            encoded = self._codecs.dead_letter.encode(value)
        if value["truncated"] or len(value["raw"]) < len(raw):
            tally.keep.add(uid)
        return OutRecord(
            self._kafka.dead_letter_topic,
            self._key,
            encoded,
            self._headers.dead_letter,
        )

    async def _commit(
        self,
        records: list[OutRecord],
        fetched: list[FetchedMessage],
        *,
        messages: int,
        last_uid: int | None = None,
    ) -> None:
        """One transaction: ``records`` plus the checkpoint that covers them."""
        assert self._position is not None and self._publisher is not None
        new = Position(
            self._position.uidvalidity, self._position.last_uid if last_uid is None else last_uid
        )
        out = [*records, self._checkpoints.record(new, messages=messages)]
        started = time.perf_counter()
        try:
            await self._publisher.publish(out)
        except KafkaUnavailable:
            self._metrics.transactions.labels(mailbox=self.mailbox.name, outcome="aborted").inc()
            raise
        committed = time.time()
        self._metrics.commit_duration.labels(**self._m).observe(time.perf_counter() - started)
        self._metrics.transactions.labels(mailbox=self.mailbox.name, outcome="committed").inc()
        self._position = new
        self._last_commit = committed
        self._kafka_backoff.reset()
        self._imap_backoff.reset()
        self._metrics.checkpoint_uid.labels(**self._m).set(new.last_uid)
        self._metrics.checkpoint_uidvalidity.labels(**self._m).set(new.uidvalidity)
        self._metrics.last_success.labels(**self._m).set(committed)
        for msg in fetched:
            if msg.internal_date is not None:
                lag = max(0.0, committed - msg.internal_date.timestamp())
                self._metrics.end_to_end_lag.labels(**self._m).observe(lag)
        if messages:
            self._log.info(
                "batch_committed", messages=messages, records=len(records), last_uid=new.last_uid
            )

    async def _housekeeping(self, batch: Batch, tally: _Tally) -> None:
        """After commit only; a failure here is logged and never re-publishes anything.

        Only messages that produced events or a dead letter are flagged, moved or deleted.
        A message that is not a bounce (a human's reply to the bounce address) is never
        touched, unless ``not_bounce_folder`` is set: then it is moved there, never deleted.
        """
        # A message whose dead letter holds only part of it (or a reference) is the one full
        # copy left: housekeeping may flag or move it, never delete it.
        keep = tally.keep
        human = tally.not_bounce_uids
        fetched = batch.uids
        uids = [u for u in fetched if u not in human]
        mode = self.mailbox.housekeeping
        if mode == "delete":
            uids = [u for u in uids if u not in keep]
        if mode == "none":
            return
        try:
            if uids:
                if mode == "seen":
                    await self._imap.mark_seen(uids)
                elif mode == "move":
                    assert self.mailbox.move_to is not None
                    await self._imap.move(uids, self.mailbox.move_to)
                else:
                    await self._imap.delete(uids)
            others = [u for u in fetched if u in human]
            if others and self.mailbox.not_bounce_folder:
                await self._imap.move(others, self.mailbox.not_bounce_folder)
        except ImapError as exc:
            self._metrics.imap_errors.labels(**self._m, reason=exc.reason).inc()
            self._log.warning("housekeeping_failed", mode=mode, error=str(exc))
