"""Housekeeping acts on bounces only: a human's reply survives every mode (real Dovecot, Kafka)."""

from __future__ import annotations

import imaplib
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.pipeline import (
    ServiceProcess,
    Setup,
    events,
    make_dsn,
    recipients,
    wait_for_checkpoint,
)

pytestmark = pytest.mark.integration

_ITEM = re.compile(rb"FLAGS \(([^)]*)\)")
_MESSAGE_ID = re.compile(rb"Message-ID:\s*(<[^>]+>)", re.IGNORECASE)


def human_reply(message_id: str) -> bytes:
    """A customer answering the mail that came from the bounce address: not a bounce."""
    return (
        "From: Bob Customer <bob@customer.example>\r\n"
        "To: bounces@example.test\r\n"
        "Subject: Re: Your invoice 4711\r\n"
        "In-Reply-To: <invoice-4711@shop.example>\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        "\r\n"
        "Hello, the amount on the invoice is wrong. Could you call me back?\r\n"
        "Bob\r\n"
    ).encode()


def _imap(setup: Setup) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(setup.dovecot.host, setup.dovecot.port)
    imap.login(setup.user, setup.password)
    return imap


def folder(setup: Setup, name: str) -> dict[str, frozenset[str]]:
    """Message-ID -> flags (but \\Recent) of every message in folder ``name``, read-only."""
    imap = _imap(setup)
    try:
        typ, count = imap.select(name, readonly=True)
        if typ != "OK" or count[0] in (b"0", None):
            return {}
        _, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    finally:
        imap.logout()
    out: dict[str, frozenset[str]] = {}
    for item in data:
        if isinstance(item, tuple):
            flags = _ITEM.search(item[0])
            mid = _MESSAGE_ID.search(item[1])
            assert flags is not None and mid is not None, item
            # \Recent belongs to the session that saw the message first, not to the message.
            words = flags.group(1).decode().split()
            out[mid.group(1).decode()] = frozenset(w for w in words if w != "\\Recent")
    return out


def dsn_with_id(recipient: str, message_id: str, n: int) -> bytes:
    """A DSN for ``recipient`` whose own Message-ID is ``message_id``."""
    raw = make_dsn(recipient, n=n)
    head, sep, body = raw.partition(b"\r\n\r\n")
    head = b"\r\n".join(
        line for line in head.split(b"\r\n") if not line.lower().startswith(b"message-id:")
    )
    return head + f"\r\nMessage-ID: {message_id}".encode() + sep + body


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.parametrize("not_bounce_folder", [None, "Humans"])
@pytest.mark.parametrize("mode", ["seen", "move", "delete"])
def test_human_reply_survives_housekeeping(
    setup: Setup, services: list[ServiceProcess], mode: str, not_bounce_folder: str | None
) -> None:
    """Only bounces are flagged, moved or deleted; a human's reply keeps its flags in INBOX,
    or is moved to not_bounce_folder when one is set, never deleted."""
    tag = uuid.uuid4().hex[:8]
    rcpts = recipients(f"hk-{tag}", 3)
    bounce_ids = [f"<dsn-{tag}-{i}@mx.example.org>" for i in range(3)]
    reply_id = f"<reply-{tag}@customer.example>"
    dsns = [dsn_with_id(rcpts[i], bounce_ids[i], i) for i in range(3)]
    setup.append(dsns[:2])
    imap = _imap(setup)
    try:
        for name in ("Processed", "Humans"):
            imap.create(name)
        typ, _ = imap.append("INBOX", r"(\Flagged)", None, human_reply(reply_id))
        assert typ == "OK"
    finally:
        imap.logout()
    setup.append(dsns[2:])
    before = folder(setup, "INBOX")
    assert before[reply_id] == {r"\Flagged"} and len(before) == 4

    extra: dict[str, Any] = {"move_to": "Processed"} if mode == "move" else {}
    if not_bounce_folder:
        extra["not_bounce_folder"] = not_bounce_folder
    svc = ServiceProcess(setup, housekeeping=mode, **extra)
    services.append(svc)
    svc.wait_ready()
    wait_for_checkpoint(setup, 4)
    assert sorted(k for k, _, _ in events(setup)) == sorted(r.lower() for r in rcpts)

    def bounces_done() -> bool:
        inbox = folder(setup, "INBOX")
        if mode == "seen":
            return all(r"\Seen" in inbox.get(m, ()) for m in bounce_ids)
        return not any(m in inbox for m in bounce_ids)

    wait_until(bounces_done, f"housekeeping {mode} of the bounces")
    if not_bounce_folder:
        wait_until(lambda: reply_id not in folder(setup, "INBOX"), "the reply to be moved")
    svc.stop()

    inbox, humans = folder(setup, "INBOX"), folder(setup, "Humans")
    if not_bounce_folder:
        assert reply_id not in inbox
        assert humans == {reply_id: frozenset({r"\Flagged"})}
    else:
        assert inbox[reply_id] == {r"\Flagged"}
        assert humans == {}
    if mode == "move":
        assert set(folder(setup, "Processed")) == set(bounce_ids)
    if mode == "seen":
        assert all(inbox[m] == {r"\Seen"} for m in bounce_ids)
