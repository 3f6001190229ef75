"""New mail is heard on a second connection that stays in IDLE, against a real Dovecot.

The fetching connection never enters IDLE: an announcement is heard while it is busy, kept
until the next UID SEARCH, and a dead IDLE connection fails the wait instead of hanging it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bounce_stream.mailbox.imap import ImapError, ImapMailbox
from bounce_stream.settings import MailboxSettings
from dev.stack import DovecotServer
from tests.integration.pipeline import make_dsn


def _mailbox(dovecot: DovecotServer, user: str, password: str) -> ImapMailbox:
    settings = MailboxSettings.model_validate(
        {
            "name": "watch",
            "host": dovecot.host,
            "port": dovecot.port,
            "username": user,
            "password": password,
            "tls": False,
            "timeout_seconds": 10,
        }
    )
    return ImapMailbox(settings)


async def _new_uids(box: ImapMailbox, stop: asyncio.Event) -> list[int]:
    """What the worker does after a wait: UID SEARCH, again at once while there is news (the
    fetching connection may learn of the mail only in the first SEARCH's response)."""
    for _ in range(5):
        uids = await box.uids_after(0)
        if uids:
            return uids
        await box.wait_for_news(0.5, stop)
    return []


async def _settled(box: ImapMailbox, stop: asyncio.Event) -> None:
    """Start the IDLE connection and take its first "maybe news" (set once it is in IDLE)."""
    await box.wait_for_news(10, stop)
    assert await box.uids_after(0) == []


async def test_an_append_wakes_the_wait_at_once(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """A message appended while the worker waits ends the wait long before its timeout."""
    box = _mailbox(dovecot, *imap_user)
    await box.connect()
    stop = asyncio.Event()
    try:
        await _settled(box, stop)
        waiting = asyncio.ensure_future(box.wait_for_news(30, stop))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        t0 = time.monotonic()
        await asyncio.to_thread(dovecot.append, imap_user[0], "INBOX", [make_dsn("a@x.test")])
        await asyncio.wait_for(waiting, 10)
        assert time.monotonic() - t0 < 5
        assert await _new_uids(box, stop) == [1]
    finally:
        await box.close()


async def test_mail_announced_while_busy_is_not_waited_for(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """Mail announced after a SEARCH began but before the wait started ends the wait at once:
    the fetching connection was busy, the IDLE connection heard it."""
    box = _mailbox(dovecot, *imap_user)
    await box.connect()
    stop = asyncio.Event()
    try:
        await _settled(box, stop)
        await asyncio.to_thread(dovecot.append, imap_user[0], "INBOX", [make_dsn("b@x.test")])
        await asyncio.sleep(2)  # "busy": Dovecot announces within ~0.5 s
        t0 = time.monotonic()
        await box.wait_for_news(30, stop)
        assert time.monotonic() - t0 < 1
        assert await _new_uids(box, stop) == [1]
    finally:
        await box.close()


async def test_without_news_the_wait_lasts_its_timeout_or_until_stop(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """Nothing announced: the wait ends at its timeout, or at once when stop is set."""
    box = _mailbox(dovecot, *imap_user)
    await box.connect()
    stop = asyncio.Event()
    try:
        await _settled(box, stop)
        t0 = time.monotonic()
        await box.wait_for_news(0.8, stop)
        assert 0.7 < time.monotonic() - t0 < 5
        asyncio.get_running_loop().call_later(0.2, stop.set)
        t0 = time.monotonic()
        await box.wait_for_news(30, stop)
        assert time.monotonic() - t0 < 5
    finally:
        await box.close()


async def test_a_reissued_idle_is_not_news(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """IDLE re-issued on its timeout (RFC 2177) wakes no waiter: only the first entry and an
    EXISTS do (a wake-up per re-issue polled, and pushed the checkpoint heartbeat back)."""
    box = _mailbox(dovecot, *imap_user)
    await box.connect()
    stop = asyncio.Event()
    try:
        # Start the IDLE connection (re-issuing every 0.5 s) and take its first "maybe news",
        # however long its sign-in takes: a wait that ends early ended on that news.
        for _ in range(40):
            t0 = time.monotonic()
            await box.wait_for_news(0.5, stop)
            if time.monotonic() - t0 < 0.4:
                break
        assert await box.uids_after(0) == []
        t0 = time.monotonic()
        await box.wait_for_news(2.5, stop)  # spans about four re-issues
        assert time.monotonic() - t0 > 2.3
    finally:
        await box.close()


async def test_a_dropped_idle_connection_fails_the_wait(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """When the server drops the connections, the wait raises ImapError instead of hanging."""
    box = _mailbox(dovecot, *imap_user)
    await box.connect()
    stop = asyncio.Event()
    try:
        await _settled(box, stop)
        waiting = asyncio.ensure_future(box.wait_for_news(30, stop))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(dovecot.kick, imap_user[0])
        with pytest.raises(ImapError):
            await asyncio.wait_for(waiting, 10)
        assert not box.connected
    finally:
        await box.close()


async def test_when_the_idle_connection_is_refused_the_fetching_one_idles(
    dovecot: DovecotServer, imap_user: tuple[str, str]
) -> None:
    """A server that refuses the second connection (here: the password changed after the
    first login) is still waited on with IDLE, on the fetching connection."""
    user, password = imap_user
    box = _mailbox(dovecot, user, password)
    await box.connect()
    stop = asyncio.Event()
    try:
        await asyncio.to_thread(dovecot.add_user, user, password + "-changed")
        t0 = time.monotonic()
        await box.wait_for_news(30, stop)  # the IDLE connection's LOGIN is refused
        assert time.monotonic() - t0 < 10 and box.connected
        assert await box.uids_after(0) == []
        waiting = asyncio.ensure_future(box.wait_for_news(30, stop))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        t0 = time.monotonic()
        await asyncio.to_thread(dovecot.append, user, "INBOX", [make_dsn("c@x.test")])
        await asyncio.wait_for(waiting, 10)
        assert time.monotonic() - t0 < 5
        assert await _new_uids(box, stop) == [1]
    finally:
        await box.close()
