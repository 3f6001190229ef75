"""The one adapter around aiokafka: transactional publishing, checkpoint reads, topic set-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaConnectionError,
    KafkaError,
    ProducerFenced,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    TransactionalIdAuthorizationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.partitioner import murmur2
from aiokafka.protocol.metadata import MetadataRequest

from bounce_stream.logs import get_logger
from bounce_stream.settings import KafkaSettings

TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno
# Room for the Avro envelope and Kafka record overhead on top of a capped dead-letter body.
RECORD_OVERHEAD = 64 * 1024


class KafkaUnavailable(Exception):
    """Kafka could not be reached or refused an operation; retry with back-off."""


class TransactionDeadline(KafkaUnavailable):
    """A transaction (or producer start) outlived ``kafka.transaction_deadline_seconds``.

    Its outcome is unknown: the caller rebuilds the producer and reads the committed
    checkpoint back, as after any other Kafka error.
    """


class Fenced(Exception):
    """Another instance now owns this mailbox's transactional.id."""


class TopicsMissing(Exception):
    """Topics are missing and may not (or could not) be created. Not retried quickly."""


class TopicNotFound(TopicsMissing):
    """A topic that is only read here, never created here, does not exist."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"topic {topic!r} does not exist")
        self.topic = topic


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes
    value: bytes | None  # None = tombstone
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and the admin client."""
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "request_timeout_ms": settings.request_timeout_ms,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        opts["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
    if settings.security_protocol.startswith("SASL"):
        assert settings.sasl_password is not None  # enforced by KafkaSettings
        opts.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password.get_secret_value(),
        )
    return opts


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2, as in the Java client) for ``key``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_server(bootstrap_servers: str) -> tuple[str, int]:
    """Host and port of the first bootstrap server (``host:port``, ``[v6]:port``, ``host``)."""
    first = bootstrap_servers.partition(",")[0].strip()
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit() or (host.count(":") and not host.startswith("[")):
        host, port = first, "9092"
    return host.strip("[]"), int(port)


async def diagnose(settings: KafkaSettings) -> str:
    """Why the first bootstrap server cannot be used: unreachable, TLS, SASL or a listener
    of another protocol. aiokafka says "Unable to bootstrap" for all of them; one connection
    of our own tells them apart. Never contains a secret."""
    host, port = _first_server(settings.bootstrap_servers)
    where = f"{host}:{port}"
    timeout = settings.request_timeout_ms / 1000
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
        writer.close()
    except TimeoutError:
        return f"unreachable: no TCP connection to {where} within {timeout:g} s"
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else _describe(exc)
        return f"unreachable: cannot connect to {where}: {reason}"
    tls = settings.security_protocol in ("SSL", "SASL_SSL")
    opts = client_options(settings)
    opts.pop("bootstrap_servers")
    conn: Any = None
    try:
        async with asyncio.timeout(timeout):
            conn = await create_conn(host, port, **opts)
            # A SASL listener accepts the connection and drops it at the first request.
            await conn.send(MetadataRequest([]))
    except SaslAuthenticationFailed as exc:
        return f"SASL authentication failed at {where} ({exc}); check sasl_username/sasl_password"
    except UnsupportedSaslMechanismError:
        return f"SASL mechanism {settings.sasl_mechanism} is not enabled on {where}"
    except ssl.SSLCertVerificationError as exc:
        return (
            f"TLS failure at {where}: certificate verify failed "
            f"({exc.verify_message or exc.reason}); check ssl_cafile"
        )
    except ssl.SSLError as exc:
        return f"TLS failure at {where}: {exc.reason or _describe(exc)}"
    except TimeoutError:
        return f"unresponsive: {where} accepts connections but did not answer within {timeout:g} s"
    except (KafkaConnectionError, ConnectionError) as exc:
        if tls:
            return (
                f"TLS failure at {where}: the TLS handshake did not complete "
                f"({_describe(exc)}); is this listener TLS?"
            )
        return (
            f"protocol mismatch at {where}: the broker closed the connection "
            f"({_describe(exc)}); does security_protocol {settings.security_protocol} match "
            "this listener?"
        )
    except (KafkaError, OSError) as exc:
        return f"cannot use {where}: {_describe(exc)}"
    finally:
        if conn is not None:
            conn.close()
    return f"{where} answers now (the failure was transient)"


async def unavailable(settings: KafkaSettings, what: str, exc: BaseException) -> KafkaUnavailable:
    """A KafkaUnavailable for ``exc``; aiokafka's catch-all bootstrap failure is diagnosed."""
    if isinstance(exc, KafkaConnectionError) and "Unable to bootstrap" in str(exc):
        return KafkaUnavailable(f"{what}: {await diagnose(settings)}")
    return KafkaUnavailable(f"{what}: {_describe(exc)}")


def archive_topic_config(settings: KafkaSettings) -> dict[str, str]:
    """The archive topic's config when the service creates it: one copy per fingerprint
    (compacted), dropped after ``archive_retention_days`` unless that is None."""
    config = {"max.message.bytes": str(settings.archive_max_bytes + RECORD_OVERHEAD)}
    days = settings.archive_retention_days
    if days is None:
        config["cleanup.policy"] = "compact"
    else:
        config["cleanup.policy"] = "compact,delete"
        config["retention.ms"] = str(round(days * 86_400_000))
    return config


async def ensure_topics(settings: KafkaSettings, dead_letter_max_bytes: int) -> None:
    """Create missing topics (checkpoints compacted, the archive if configured) when allowed;
    fail clearly otherwise."""
    wanted = {
        settings.events_topic: {},
        settings.dead_letter_topic: {
            "max.message.bytes": str(dead_letter_max_bytes + RECORD_OVERHEAD)
        },
        settings.checkpoint_topic: {"cleanup.policy": "compact"},
    }
    if settings.archive_topic is not None:
        wanted[settings.archive_topic] = archive_topic_config(settings)
    await create_missing_topics(
        settings, wanted, "create them, the checkpoint topic with cleanup.policy=compact"
    )


async def create_missing_topics(
    settings: KafkaSettings, wanted: dict[str, dict[str, str]], hint: str
) -> None:
    """Create those of ``wanted`` (name: topic config) that are missing, when allowed.

    TopicsMissing (with ``hint`` on what to do) when some are missing and
    ``kafka.create_topics`` is false, or the broker refuses to create them.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return
        if not settings.create_topics:
            raise TopicsMissing(
                f"Kafka topics missing: {', '.join(missing)} (kafka.create_topics is false; {hint})"
            )
        resp = await admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.replication_factor,
                    topic_configs=wanted[name],
                )
                for name in missing
            ]
        )
        # topic_errors rows are (topic, code) or (topic, code, message) by protocol version.
        failures = [
            " ".join(str(part) for part in (row[0], "error", *row[1:]) if part)
            for row in resp.topic_errors
            if row[1] not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failures:
            raise TopicsMissing("cannot create Kafka topics: " + "; ".join(failures))
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka admin", exc) from None
    finally:
        await admin.close()


async def topic_partitions(settings: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of ``topic``; TopicsMissing when it does not exist.

    Never creates it: a metadata request naming a topic would, on a broker with
    auto.create.topics.enable, so existence is checked on the full topic list first.
    """
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        if topic not in await admin.list_topics():
            raise TopicsMissing(f"topic {topic!r} does not exist")
        described = await admin.describe_topics([topic])
    except (TimeoutError, KafkaError, OSError) as exc:
        raise await unavailable(settings, "Kafka admin", exc) from None
    finally:
        await admin.close()
    parts = [p["partition"] for d in described if d["topic"] == topic for p in d["partitions"]]
    if not parts:
        raise TopicsMissing(f"topic {topic!r} does not exist")
    return sorted(parts)


class TransactionalPublisher:
    """One transactional producer: every :meth:`publish` call is one Kafka transaction."""

    def __init__(self, settings: KafkaSettings, transactional_id: str, max_request_size: int):
        self._settings = settings
        self.transactional_id = transactional_id
        self._max_request_size = max_request_size
        self._producer: Any = None

    def __repr__(self) -> str:
        return f"TransactionalPublisher({self.transactional_id!r})"

    async def start(self) -> None:
        """Init transactions: fences older producers with the same id, aborts their open work."""
        producer = AIOKafkaProducer(
            **client_options(self._settings),
            transactional_id=self.transactional_id,
            transaction_timeout_ms=self._settings.transaction_timeout_ms,
            max_request_size=self._max_request_size,
            enable_idempotence=True,
            acks="all",
        )
        deadline = self._settings.transaction_deadline_seconds
        try:
            async with asyncio.timeout(deadline) as scope:
                await producer.start()
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            await _quiet_stop(producer)
            raise Fenced(_describe(exc)) from None
        except TransactionalIdAuthorizationFailed:
            await _quiet_stop(producer)
            raise KafkaUnavailable(
                f"not authorised for transactional.id {self.transactional_id!r}"
            ) from None
        except (TimeoutError, KafkaError, OSError) as exc:
            _stop_in_background(producer)
            if scope.expired():
                raise TransactionDeadline(
                    f"producer start: no answer from Kafka within {deadline:g} s"
                ) from None
            raise await unavailable(self._settings, "producer start", exc) from None
        self._producer = producer

    async def partitions(self, topic: str) -> int:
        deadline = self._settings.transaction_deadline_seconds
        try:
            async with asyncio.timeout(deadline):
                parts = await self._require().partitions_for(topic)
        except TimeoutError:
            raise TransactionDeadline(
                f"no metadata for {topic} from Kafka within {deadline:g} s"
            ) from None
        except KafkaError as exc:
            raise KafkaUnavailable(f"metadata for {topic}: {_describe(exc)}") from None
        return len(parts)

    async def publish(self, records: Sequence[OutRecord]) -> None:
        """Send ``records`` in one transaction and commit it. On any error it is aborted.

        The whole transaction (begin, sends, commit) must end within
        ``kafka.transaction_deadline_seconds``; past it the producer is given up (stopped in
        the background, never awaited) and :class:`TransactionDeadline` raised: whether the
        transaction committed is unknown, so the caller reads the checkpoint back.
        """
        producer = self._require()
        deadline = self._settings.transaction_deadline_seconds
        started = time.monotonic()
        try:
            async with asyncio.timeout(deadline) as scope:
                await _transaction(producer, records)
        except (ProducerFenced, InvalidProducerEpoch) as exc:
            raise Fenced(_describe(exc)) from None
        except (TimeoutError, KafkaError, OSError) as exc:
            if not scope.expired():
                raise KafkaUnavailable(f"transaction: {_describe(exc)}") from None
            self._producer = None
            _stop_in_background(producer)
            get_logger().error(
                "kafka_transaction_deadline",
                transactional_id=self.transactional_id,
                records=len(records),
                deadline_s=deadline,
                waited_s=round(time.monotonic() - started, 3),
                action="producer rebuilt; the committed checkpoint is read back",
            )
            raise TransactionDeadline(
                f"transaction not complete within {deadline:g} s "
                "(outcome unknown: producer rebuilt, checkpoint read back)"
            ) from None

    async def stop(self) -> None:
        """Flush nothing, close the producer. Safe to call twice."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _quiet_stop(producer)

    def _require(self) -> Any:
        if self._producer is None:
            raise KafkaUnavailable("producer not started")
        return self._producer


async def _transaction(producer: Any, records: Sequence[OutRecord]) -> None:
    await producer.begin_transaction()
    try:
        await send_all(producer, records)
        await producer.commit_transaction()
    except Exception:
        # Not on cancellation (a deadline or a shutdown): the producer is then dropped, and
        # the next one with this transactional.id aborts what is left open.
        await quiet_abort(producer)
        raise


async def send_all(producer: Any, records: Sequence[OutRecord]) -> None:
    """``records`` into the producer's open transaction, in order."""
    for rec in records:
        await producer.send(
            rec.topic,
            value=rec.value,
            key=rec.key,
            partition=rec.partition,
            headers=list(rec.headers),
        )


# Producers given up at a deadline, stopping in the background (a reference keeps each
# task alive; its outcome is collected when it ends).
_stopping: set[asyncio.Task[None]] = set()


def _stop_in_background(producer: Any) -> None:
    task = asyncio.get_running_loop().create_task(_quiet_stop(producer))
    _stopping.add(task)
    task.add_done_callback(_stopping.discard)


async def quiet_abort(producer: Any) -> None:
    # The producer is rebuilt after any failed transaction.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.abort_transaction(), timeout=10)


async def _quiet_stop(producer: Any) -> None:
    # Stopping a broken producer may itself fail.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), timeout=10)
