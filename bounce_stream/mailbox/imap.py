"""The one adapter around aioimaplib: typed, bounded, and never leaking the password.

Everything the service needs from IMAP goes through :class:`ImapMailbox`; nothing else in the
package imports aioimaplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aioimaplib

from bounce_stream.settings import MailboxSettings


class ImapError(Exception):
    """Any IMAP failure: connection, TLS, authentication, protocol. Retriable by reconnecting."""


class ImapAuthError(ImapError):
    """The server refused the credentials (not retried quickly: it will not fix itself)."""


@dataclass(frozen=True, slots=True)
class MessageInfo:
    uid: int
    size: int
    internal_date: datetime | None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    uid: int
    size: int
    internal_date: datetime | None
    raw: bytes


FETCH_CHUNK = 50
_FETCH_HEAD = re.compile(rb"^\*?\s*\d+\s+FETCH\s+\(", re.IGNORECASE)
_UID = re.compile(rb"\bUID\s+(\d+)", re.IGNORECASE)
_SIZE = re.compile(rb"\bRFC822\.SIZE\s+(\d+)", re.IGNORECASE)
_IDATE = re.compile(rb'\bINTERNALDATE\s+"([^"]+)"', re.IGNORECASE)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY\s+(\d+)", re.IGNORECASE)
_EXISTS = re.compile(rb"^\*?\s*(\d+)\s+EXISTS", re.IGNORECASE)


def _internal_date(raw: bytes) -> datetime | None:
    # INTERNALDATE is "25-Nov-2026 20:00:00 +0000"; email.utils reads it once dashes are spaces.
    try:
        value = parsedate_to_datetime(raw.decode("ascii").replace("-", " ", 2))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def uid_set(uids: Iterable[int]) -> str:
    """Compact IMAP sequence set: [1,2,3,7,9,10] -> "1:3,7,9:10"."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_fetch(lines: Sequence[Any]) -> list[tuple[MessageInfo, bytes | None]]:
    """Parse aioimaplib FETCH response lines into (info, literal) pairs in server order.

    Unsolicited FETCH responses without a UID (e.g. flag changes) are skipped.
    """
    out: list[tuple[MessageInfo, bytes | None]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not isinstance(line, bytes | bytearray) or not _FETCH_HEAD.match(line):
            continue
        head = bytes(line)
        literal: bytes | None = None
        # aioimaplib hands a literal over as the next item, a bytearray (its "{n}" removed).
        if i < len(lines) and isinstance(lines[i], bytearray):
            literal = bytes(lines[i])
            i += 1
            # Items after the literal (e.g. ") UID 5)") arrive as the next line.
            if i < len(lines) and isinstance(lines[i], bytes | bytearray):
                tail = bytes(lines[i])
                if not _FETCH_HEAD.match(tail) and tail.strip().endswith(b")"):
                    head += b" " + tail
                    i += 1
        uid = _UID.search(head)
        if uid is None:
            continue
        size = _SIZE.search(head)
        idate = _IDATE.search(head)
        info = MessageInfo(
            uid=int(uid.group(1)),
            size=int(size.group(1)) if size else (len(literal) if literal is not None else 0),
            internal_date=_internal_date(idate.group(1)) if idate else None,
        )
        out.append((info, literal))
    return out


def _ssl_context(settings: MailboxSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapMailbox:
    """One authenticated connection to one folder."""

    def __init__(self, settings: MailboxSettings) -> None:
        self._settings = settings
        self._client: Any = None
        self._lost = asyncio.Event()
        self.uidvalidity: int = 0
        self.exists: int = 0
        self.capabilities: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"ImapMailbox({self._settings.mailbox_id!r})"

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self) -> None:
        """Connect, authenticate, SELECT the folder and read its UIDVALIDITY."""
        s = self._settings
        lost = asyncio.Event()
        self._lost = lost
        try:
            client = aioimaplib.IMAP4(
                host=s.host,
                port=s.port,
                timeout=s.timeout_seconds,
                conn_lost_cb=lambda _exc: lost.set(),
                ssl_context=_ssl_context(s) if s.tls else None,
            )
            self._client = client
            await client.wait_hello_from_server()
            resp = await client.login(s.username, s.secret)
            if resp.result != "OK":
                raise ImapAuthError(f"login refused for {s.username!r} on {s.host}:{s.port}")
            self.capabilities = frozenset(
                c.upper() for c in getattr(client.protocol, "capabilities", ())
            )
            await self.select()
        except ImapError:
            await self.close()
            raise
        except (OSError, TimeoutError, aioimaplib.Abort) as exc:
            await self.close()
            raise ImapError(f"cannot connect to {s.host}:{s.port}: {self._describe(exc)}") from None

    async def select(self) -> None:
        resp = await self._command("select", self._settings.folder)
        validity: int | None = None
        for line in resp.lines:
            if isinstance(line, bytes | bytearray):
                if m := _UIDVALIDITY.search(line):
                    validity = int(m.group(1))
                if m := _EXISTS.match(line):
                    self.exists = int(m.group(1))
        if validity is None:
            raise ImapError(f"SELECT {self._settings.folder!r} gave no UIDVALIDITY")
        self.uidvalidity = validity

    @property
    def supports_idle(self) -> bool:
        """IDLE is used when the server offers it and the config does not turn it off."""
        return self._settings.idle and "IDLE" in self.capabilities

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid``, ascending (one UID SEARCH round trip)."""
        resp = await self._command("uid_search", f"UID {last_uid + 1}:*")
        uids: list[int] = []
        # aioimaplib strips the "SEARCH" keyword of the untagged response; accept either.
        for line in resp.lines[:-1]:
            tokens = bytes(line).split() if isinstance(line, bytes | bytearray) else []
            if tokens and tokens[0].upper() == b"SEARCH":
                tokens = tokens[1:]
            if tokens and all(t.isdigit() for t in tokens):
                uids.extend(int(t) for t in tokens)
        # "n:*" always matches the highest UID even when it is below n (RFC 3501 6.4.8).
        return sorted(u for u in set(uids) if u > last_uid)

    async def fetch_info(self, uids: Sequence[int]) -> list[MessageInfo]:
        """Size and arrival time of ``uids``, no bodies; one UID FETCH per chunk."""
        lines = await self._fetch(uids, "(UID RFC822.SIZE INTERNALDATE)")
        return sorted((info for info, _ in parse_fetch(lines)), key=lambda m: m.uid)

    async def fetch_bodies(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """Whole messages for ``uids``; BODY.PEEK never sets \\Seen."""
        lines = await self._fetch(uids, "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        got = {
            info.uid: FetchedMessage(info.uid, info.size, info.internal_date, literal)
            for info, literal in parse_fetch(lines)
            if literal is not None
        }
        # A UID expunged between SEARCH and FETCH is simply absent: nothing to process.
        return [got[u] for u in sorted(got)]

    async def _fetch(self, uids: Sequence[int], items: str) -> list[Any]:
        # aioimaplib rescans a FETCH response from its start on every line it receives
        # (quadratic in messages per command) and parses lines recursively (depth grows with
        # the lines in one read): commands of FETCH_CHUNK messages keep both small, at a
        # cost of one round trip per chunk, never one per message.
        ordered = sorted(uids)
        lines: list[Any] = []
        for i in range(0, len(ordered), FETCH_CHUNK):
            resp = await self._command("uid", "fetch", uid_set(ordered[i : i + FETCH_CHUNK]), items)
            lines.extend(resp.lines)
        return lines

    async def wait_for_news(self, timeout: float, stop: asyncio.Event) -> None:
        """Block until the server reports new mail, ``timeout`` passes, or ``stop`` is set.

        Uses IDLE when offered, else sleeps (the caller polls again afterwards).
        """
        if not self.supports_idle:
            await _wait_or_stop(asyncio.sleep(timeout), stop, timeout)
            return
        client = self._require()
        try:
            idle = await client.idle_start(timeout=timeout)
            push = asyncio.ensure_future(client.wait_server_push(timeout=timeout))
            stopper = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(self._lost.wait())
            try:
                await asyncio.wait({push, stopper, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (push, stopper, lost):
                    task.cancel()
            if self._lost.is_set():
                raise ConnectionError("connection closed by the server")
            client.idle_done()
            await self._unless_lost(idle)
        except (OSError, TimeoutError, aioimaplib.Abort) as exc:
            await self.close()
            raise ImapError(f"IDLE failed: {self._describe(exc)}") from None

    async def mark_seen(self, uids: Sequence[int]) -> None:
        await self._command("uid", "store", uid_set(uids), "+FLAGS.SILENT", r"(\Seen)")

    async def move(self, uids: Sequence[int], folder: str) -> None:
        if "MOVE" in self.capabilities:
            await self._command("uid", "move", uid_set(uids), folder)
            return
        await self._command("uid", "copy", uid_set(uids), folder)
        await self.delete(uids)

    async def delete(self, uids: Sequence[int]) -> None:
        await self._command("uid", "store", uid_set(uids), "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.capabilities:
            await self._command("uid", "expunge", uid_set(uids))
        else:
            await self._command("expunge")

    async def close(self) -> None:
        """Log out (best effort) and drop the connection. Safe to call twice."""
        client, self._client = self._client, None
        if client is None:
            return
        # The connection is being discarded either way.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), timeout=5)
        transport = getattr(getattr(client, "protocol", None), "transport", None)
        if transport is not None:
            transport.close()

    async def _unless_lost(self, aw: Any) -> Any:
        """Await ``aw``, but fail at once if the server drops the connection meanwhile.

        aioimaplib leaves a command pending until its own timeout when the connection goes;
        a kicked session or a restarted server must not stall the mailbox for that long.
        """
        task = asyncio.ensure_future(aw)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=self._settings.timeout_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            lost.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if self._lost.is_set():
            raise ConnectionError("connection closed by the server")
        raise TimeoutError

    def _describe(self, exc: BaseException) -> str:
        """The error as text, with the password blanked: aioimaplib's exceptions can carry
        the command they failed on, and a LOGIN command carries the password."""
        return _describe(exc).replace(self._settings.secret, "***")

    def _require(self) -> Any:
        if self._client is None:
            raise ImapError("not connected")
        if self._lost.is_set():
            raise ImapError("connection closed by the server")
        return self._client

    async def _command(self, name: str, *args: str) -> Any:
        client = self._require()
        try:
            resp = await self._unless_lost(getattr(client, name)(*args))
        except (OSError, TimeoutError, aioimaplib.Abort) as exc:
            await self.close()
            raise ImapError(f"{name.upper()} failed: {self._describe(exc)}") from None
        if resp.result != "OK":
            text = b" ".join(
                bytes(x) for x in resp.lines[-1:] if isinstance(x, bytes | bytearray)
            ).decode("utf-8", "replace")
            raise ImapError(f"{name.upper()} {args[0] if args else ''} -> {resp.result}: {text}")
        return resp


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _wait_or_stop(aw: Any, stop: asyncio.Event, timeout: float) -> None:
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()
        stopper.cancel()
