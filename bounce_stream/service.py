"""The service: one worker task and one transactional producer per owned mailbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import zlib
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry

from bounce_stream.classifying import ClassifyPool
from bounce_stream.encoding.avro import Decoder
from bounce_stream.encoding.registry import SchemaRegistryClient, topic_encoders
from bounce_stream.http import ProbeServer
from bounce_stream.logs import get_logger, install_asyncio_handler
from bounce_stream.metrics import Metrics
from bounce_stream.publishing.kafka import ensure_topics
from bounce_stream.settings import ConfigError, MailboxSettings, Settings
from bounce_stream.worker import Codecs, MailboxWorker

REPLICA_INDEX_ENV = "BOUNCE_STREAM_REPLICA_INDEX"
REPLICA_COUNT_ENV = "BOUNCE_STREAM_REPLICA_COUNT"


def owned_mailboxes(
    mailboxes: Sequence[MailboxSettings], index: int, count: int
) -> list[MailboxSettings]:
    """The mailboxes replica ``index`` of ``count`` serves: a stable hash of the mailbox id.

    Every replica computes the same split from the same config, so each mailbox has exactly
    one intended owner; a mistaken double owner is fenced by the shared transactional.id.
    """
    return [mb for mb in mailboxes if zlib.crc32(mb.mailbox_id.encode()) % count == index]


# A bare ordinal, or a StatefulSet pod name ending in one ("bounce-stream-2").
_ORDINAL = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.-]*-)?([0-9]+)$")


def replica_slot(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(index, count) of this replica; index may be a StatefulSet pod name ("name-2")."""
    env = os.environ if environ is None else environ
    raw_index = env.get(REPLICA_INDEX_ENV, "0") or "0"
    raw_count = env.get(REPLICA_COUNT_ENV, "1") or "1"
    index_match = _ORDINAL.match(raw_index)
    if index_match is None or not re.fullmatch(r"[0-9]+", raw_count) or int(raw_count) < 1:
        raise ConfigError(
            f"{REPLICA_INDEX_ENV}/{REPLICA_COUNT_ENV} must be whole numbers (count >= 1)"
        )
    index, count = int(index_match.group(1)), int(raw_count)
    if index >= count:
        raise ConfigError(f"{REPLICA_INDEX_ENV}={index} is not below {REPLICA_COUNT_ENV}={count}")
    return index, count


async def build_codecs(settings: Settings) -> Codecs:
    """Single-object encoding, or Confluent framing with ids from the configured registry."""
    client = (
        SchemaRegistryClient.from_settings(settings.schema_registry)
        if settings.schema_registry.url is not None
        else None
    )
    enc = await topic_encoders(settings.kafka, client)
    decoder = Decoder()
    for encoder in (enc.events, enc.checkpoints, enc.dead_letters):
        schema_id = getattr(encoder, "schema_id", None)
        if schema_id is not None:
            decoder.add_schema_id(schema_id, encoder.schema)
    return Codecs(
        event=enc.events, checkpoint=enc.checkpoints, dead_letter=enc.dead_letters, decoder=decoder
    )


class _TopicsOnce:
    """Create/verify topics once per process, retrying on the next call after a failure."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._done = False
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            if not self._done:
                await ensure_topics(self._settings.kafka, self._settings.dead_letter.max_raw_bytes)
                self._done = True


class Service:
    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics.create(registry)
        self.stop_event = asyncio.Event()
        self.workers: list[MailboxWorker] = []
        self._log = get_logger()
        self.probes: ProbeServer | None = None
        detection = settings.detection
        # One pool of classification processes for every mailbox, started and stopped here.
        self.classifier = ClassifyPool(
            settings.parse_options(),
            workers=detection.workers,
            timeout=detection.timeout_seconds,
            metrics=self.metrics,
        )

    def not_ready(self) -> list[str]:
        # A replica that owns no mailbox (more replicas than the hash gives work to) is idle,
        # not broken: it must not hold up a rolling update.
        reasons = [f"{w.mailbox.name}: {w.detail}" for w in self.workers if not w.ready]
        if self.workers and self.classifier.problem is not None:
            reasons.append(f"classification: {self.classifier.problem}")
        return reasons

    async def run(self, mailboxes: Sequence[MailboxSettings] | None = None) -> None:
        """Serve until SIGTERM/SIGINT (or :attr:`stop_event`), then stop within the grace."""
        loop = asyncio.get_running_loop()
        install_asyncio_handler(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig.name)
        owned = list(self.settings.mailboxes if mailboxes is None else mailboxes)
        if self.settings.metrics.enabled:
            self.probes = ProbeServer(
                self.settings.metrics.host,
                self.settings.metrics.port,
                self.metrics.registry,
                self.not_ready,
            )
            await self.probes.start()
        try:
            codecs = await self._codecs_with_retry()
            if codecs is None:
                return
            topics = _TopicsOnce(self.settings)
            await self.classifier.start()
            self.workers = [
                MailboxWorker(
                    mb,
                    self.settings.kafka,
                    self.settings.dead_letter,
                    self.settings.instance,
                    codecs,
                    self.metrics,
                    topics,
                    self.stop_event,
                    self.classifier,
                )
                for mb in owned
            ]
            self._log.info(
                "service_started",
                mailboxes=[mb.name for mb in owned],
                metrics_port=self.probes.port if self.probes else None,
            )
            tasks = [
                asyncio.create_task(w.run(), name=f"mailbox:{w.mailbox.name}") for w in self.workers
            ]
            if not tasks:
                self._log.warning("no_mailboxes", hint="this instance owns no mailbox")
            await self.stop_event.wait()
            await self._drain(tasks)
        finally:
            await self.classifier.stop()
            if self.probes is not None:
                await self.probes.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _request_stop(self, why: str) -> None:
        # The event first: nothing that follows (a log line to a closed pipe) may lose it.
        first = not self.stop_event.is_set()
        self.stop_event.set()
        if first:
            with contextlib.suppress(Exception):
                self._log.info("stopping", signal=why, grace_s=self.settings.shutdown_grace_seconds)

    async def _codecs_with_retry(self) -> Codecs | None:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                return await build_codecs(self.settings)
            except Exception as exc:
                self._log.warning("schema_registry_unavailable", error=str(exc), retry_in_s=delay)
                try:
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                except TimeoutError:
                    delay = min(delay * 2, 60.0)
        return None

    async def _drain(self, tasks: list[asyncio.Task[None]]) -> None:
        """Let batches in flight finish within the grace period, then cancel the rest."""
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            for w in self.workers:
                await w.close()
        self._log.info(
            "stopped", finished=len(done), cancelled=len(pending), mailboxes=len(self.workers)
        )
