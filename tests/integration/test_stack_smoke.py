"""Smoke tests of the real-server stack from dev/stack.py (Kafka KRaft + Dovecot)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid

import aioimaplib
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dev.stack import DovecotServer, KafkaNode

pytestmark = pytest.mark.integration


def _message(n: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@example.test\r\n"
        f"To: bounces@example.test\r\n"
        f"Subject: smoke {n}\r\n"
        f"Message-ID: <smoke-{n}@example.test>\r\n"
        f"\r\n"
        f"body {n}\r\n"
    ).encode()


async def _kcat_read_committed(bootstrap: str, topic: str) -> list[dict[str, object]]:
    kcat = shutil.which("kcat")
    assert kcat, "kcat missing: run scripts/bootstrap.sh"
    proc = await asyncio.create_subprocess_exec(
        kcat,
        "-C",
        "-b",
        bootstrap,
        "-t",
        topic,
        "-o",
        "beginning",
        "-X",
        "isolation.level=read_committed",
        "-e",
        "-J",
        "-q",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


async def test_kafka_transaction_read_committed_by_kcat(kafka: KafkaNode) -> None:
    """kcat (read_committed) sees exactly the committed records, not the aborted one."""
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        resp = await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert all(err == 0 for _, err, *_ in resp.topic_errors), resp.topic_errors
    finally:
        await admin.close()

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=f"smoke-{uuid.uuid4().hex}"
    )
    await producer.start()  # InitProducerId: creates __transaction_state on first use
    try:
        await producer.begin_transaction()
        await producer.send(topic, b"v1", key=b"k1", headers=[("h", b"1")])
        await producer.send(topic, b"v2", key=b"k2")
        await producer.commit_transaction()

        await producer.begin_transaction()
        await producer.send(topic, b"aborted", key=b"kx")
        await producer.flush()  # really on the broker before the abort
        await producer.abort_transaction()

        await producer.begin_transaction()
        await producer.send(topic, b"v3", key=b"k3")
        await producer.commit_transaction()
    finally:
        await producer.stop()

    records = await _kcat_read_committed(kafka.bootstrap, topic)
    assert [(r["key"], r["payload"]) for r in records] == [("k1", "v1"), ("k2", "v2"), ("k3", "v3")]
    # Offsets 2 and 4 are transaction markers, 3 is the aborted record.
    assert [r["offset"] for r in records] == [0, 1, 5]
    assert records[0]["headers"] == ["h", "1"]


async def test_dovecot_fetch_and_idle_push(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """Appended mail comes back from one UID FETCH 1:*, and a new append is pushed to IDLE."""
    user, password = imap_user
    sent = [_message(n) for n in range(1, 4)]
    await asyncio.to_thread(dovecot.append, user, "INBOX", sent)

    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(user, password)).result == "OK"
    assert (await client.select("INBOX")).result == "OK"

    resp = await client.uid("fetch", "1:*", "(UID RFC822.SIZE BODY.PEEK[])")
    assert resp.result == "OK", resp
    bodies = [bytes(line) for line in resp.lines if isinstance(line, bytearray)]
    assert bodies == sent
    sizes = [line for line in resp.lines if isinstance(line, bytes) and b"RFC822.SIZE" in line]
    assert all(b"UID %d " % uid in line for uid, line in zip((1, 2, 3), sizes, strict=True))
    assert all(b"RFC822.SIZE %d " % len(m) in line for m, line in zip(sent, sizes, strict=True))

    idle = await client.idle_start(timeout=30)
    t0 = time.monotonic()
    await asyncio.to_thread(dovecot.append, user, "INBOX", [_message(4)])
    pushed: list[bytes] = []
    while not any(b"EXISTS" in line for line in pushed):
        pushed += [
            line for line in await client.wait_server_push(timeout=10) if isinstance(line, bytes)
        ]
    delay = time.monotonic() - t0
    client.idle_done()
    await asyncio.wait_for(idle, 10)
    assert b"4 EXISTS" in pushed, pushed
    assert delay < 5, f"IDLE push took {delay:.2f} s"

    resp = await client.uid("fetch", "4", "(UID BODY.PEEK[])")
    assert [bytes(line) for line in resp.lines if isinstance(line, bytearray)] == [_message(4)]
    await client.logout()
