"""The one adapter around aioimaplib: typed, bounded, and never leaking the password.

Everything the service needs from IMAP goes through :class:`ImapMailbox`; nothing else in the
package imports aioimaplib.

The server is not trusted. aioimaplib's protocol is subclassed (:class:`_BoundedProtocol`) to
read responses with a loop (its own parser recurses once per line), to cap the length of a
line and of the literals it keeps (a larger message literal is streamed past and reported
as oversized, never buffered), and to fail every pending command at once when the connection
dies or the server breaks the protocol. Each command and the greeting run under a deadline
that closes the transport (:meth:`ImapMailbox._unless_lost`); no exception text from
aioimaplib, which can hold a command and so the LOGIN password, is ever passed on.

A connection signed in with an OAuth2 token is signed in again with a newer token before that
one expires (its provider's renewal time: a server such as Exchange Online ends a session
whose token expired), at a quiet point: before a command, or by ending IDLE. The new session
is opened and SELECTed first, then the old one logged out; nothing is lost or read twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aioimaplib
from aioimaplib import aioimaplib as _imaplib

from bounce_stream.logs import get_logger, register_secret
from bounce_stream.mailbox.oauth import (
    OAUTHBEARER_DUMMY,
    XOAUTH2_DUMMY,
    AccessToken,
    RenewalPlan,
    TokenError,
    TokenProvider,
    error_status,
    oauthbearer_response,
    token_provider,
    xoauth2_response,
)
from bounce_stream.settings import MailboxSettings

ErrorReason = Literal["auth", "connect", "timeout", "protocol"]
ERROR_REASONS: tuple[ErrorReason, ...] = ("auth", "connect", "timeout", "protocol")


class ImapError(Exception):
    """Any IMAP failure: connection, TLS, authentication, protocol. Retriable by reconnecting.

    ``reason`` is one of :data:`ERROR_REASONS` (the label of the error metric). The text is
    written by this module only: never a server's response or a command.
    """

    def __init__(self, message: str, reason: ErrorReason = "connect") -> None:
        super().__init__(message)
        self.reason: ErrorReason = reason


class ImapAuthError(ImapError):
    """The server refused the credentials (not retried quickly: it will not fix itself)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "auth")


class ImapProtocolError(ImapError):
    """The server broke the protocol or a bound: over-long line, unexpected tag, bad SEARCH."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "protocol")


class _Violation(Exception):
    """Raised inside the protocol; its text is ours and safe to log."""


class _ConnectionGone(ConnectionError):
    """Set on every pending command when the connection is lost or aborted."""


class _NoSecondConnection(Exception):
    """The IDLE connection could not be opened (a per-account connection limit, say)."""


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
    # The server sent a body larger than the bounds (a lying RFC822.SIZE): it was streamed
    # past, not kept; ``raw`` is empty and ``size`` is what the server sent.
    oversized: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """Stands in a FETCH response for a literal that was read past, not kept."""

    size: int


@dataclass(frozen=True, slots=True)
class KeptLiteral:
    """A literal the protocol kept, as it stands among a response's lines (which are bytes)."""

    data: bytes


# A FETCH's deadline is timeout_seconds per FETCH_CHUNK messages it asks for (one command
# per batch, as long as the chunks of 50 it replaced were given in all).
FETCH_CHUNK = 50
MAX_LINE_BYTES = 8 * 1024 * 1024  # one response line (a SEARCH of ~1M UIDs fits)
MAX_NUMBER = 2**32 - 1  # RFC 3501: number and nz-number are 32-bit unsigned integers
LOGOUT_SECONDS = 1.0
# A mailbox's two connections, as log lines and metrics name them.
FETCHING_CONNECTION = "fetching"
IDLE_CONNECTION = "idle"
CONNECTIONS = (FETCHING_CONNECTION, IDLE_CONNECTION)
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


def parse_fetch(lines: Sequence[Any]) -> list[tuple[MessageInfo, bytes | Skipped | None]]:
    """Parse aioimaplib FETCH response lines into (info, literal) pairs in server order.

    Unsolicited FETCH responses without a UID (e.g. flag changes) are skipped. A literal the
    protocol read past comes as :class:`Skipped`. A UID outside 1..2^32-1 is a protocol error.
    """
    out: list[tuple[MessageInfo, bytes | Skipped | None]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not isinstance(line, bytes | bytearray) or not _FETCH_HEAD.match(line):
            continue
        head = bytes(line)
        literal: bytes | Skipped | None = None
        # A literal is the next item (its "{n}" removed from the line): a KeptLiteral from
        # _BoundedProtocol (taken as is, no copy), a bytearray from plain aioimaplib.
        if i < len(lines) and isinstance(lines[i], KeptLiteral | bytearray | Skipped):
            item = lines[i]
            if isinstance(item, KeptLiteral):
                literal = item.data
            else:
                literal = item if isinstance(item, Skipped) else bytes(item)
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
        if isinstance(literal, Skipped):
            real_size = literal.size
        else:
            real_size = len(literal) if literal is not None else 0
        info = MessageInfo(
            uid=_nz_number(uid.group(1)),
            size=_size(size.group(1)) if size else real_size,
            internal_date=_internal_date(idate.group(1)) if idate else None,
        )
        out.append((info, literal))
    return out


def _nz_number(digits: bytes, what: str = "UID") -> int:
    """A UID or UIDVALIDITY: RFC 3501's nz-number, 1..2^32-1; anything else is refused."""
    if len(digits) > 10 or not 0 < int(digits) <= MAX_NUMBER:
        raise ImapProtocolError(f"{what} outside 1..2^32-1 in a response")
    return int(digits)


def _size(digits: bytes) -> int:
    """An RFC822.SIZE; past RFC 3501's 32 bits it is read as 2^32-1, which is over any
    max_message_bytes: the message is dead-lettered by reference, not a reconnect loop."""
    return MAX_NUMBER if len(digits) > 10 else min(int(digits), MAX_NUMBER)


def parse_search(lines: Sequence[Any]) -> list[int]:
    """UIDs of the untagged SEARCH responses among aioimaplib's response ``lines``.

    aioimaplib keeps the "SEARCH" keyword of the untagged line (older versions dropped it:
    a line of digits only is read as one too). A SEARCH line with any token that is not a UID
    is a protocol error, never a silently shorter result.
    """
    uids: list[int] = []
    for line in lines:
        if not isinstance(line, bytes | bytearray):
            continue
        tokens = bytes(line).split()
        if tokens and tokens[0].upper() == b"SEARCH":
            tokens = tokens[1:]
        elif not tokens or not tokens[0].isdigit() or (len(tokens) > 1 and tokens[1].isalpha()):
            continue  # another untagged response ("3 EXISTS", "5 EXPUNGE") or the status text
        for token in tokens:
            if not token.isdigit():
                raise ImapProtocolError("SEARCH response holds a token that is not a UID")
            uids.append(_nz_number(token))
    return uids


def _ssl_context(settings: MailboxSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may hold: a response line, one kept literal, literals per command."""

    max_line: int
    max_literal: int
    max_response: int

    @classmethod
    def of(cls, settings: MailboxSettings) -> Limits:
        # A batch holds at most batch_max_bytes of honest sizes, or one message of up to
        # max_message_bytes: more literal bytes in one response means the sizes lied.
        return cls(
            max_line=MAX_LINE_BYTES,
            max_literal=settings.max_message_bytes,
            max_response=max(settings.batch_max_bytes, settings.max_message_bytes),
        )


_LINE_OVERHEAD = 64  # what a held line costs beyond its bytes (the bytes object, list slot)
_FETCH_ITEM = re.compile(rb"^(?:\* )?[0-9]+ FETCH \(", re.IGNORECASE)


# What one read asks the kernel for, except into a kept literal of at least this size (a
# smaller one comes with its neighbours in one read: one read per message costs more).
_READ_SIZE = 64 * 1024


class _BoundedProtocol(_imaplib.IMAP4ClientProtocol, asyncio.BufferedProtocol):  # type: ignore[misc]
    """aioimaplib's protocol with an iterative, bounded reader and fail-fast teardown.

    Dispatch of each complete line stays aioimaplib's (``_handle_line``); what changes is how
    bytes become lines and literals: one loop over each read (no recursion per line, each
    byte looked at once, never a rescan of a response), a cap on line length, FETCH literals
    over the bounds streamed past and recorded as :class:`Skipped`, any other literal over
    the line cap refused. A large kept literal is read by the kernel straight into a buffer of
    its announced size (``get_buffer``: asyncio's buffered protocol) and copied once into the
    bytes handed over as a :class:`KeptLiteral`; aioimaplib's own literal handling (a bytearray
    grown and copied per read) and its ``FetchCommand.wait_data`` (a join of the response so
    far per line) are never called. Any error while
    handling data (aioimaplib raises ``Abort`` with the pending command, LOGIN password
    included, in its text) fails the connection with a text of ours.
    """

    # Set by aioimaplib's __init__ (untyped there).
    pending_sync_command: Any
    pending_async_commands: dict[str, Any]
    transport: Any

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn_lost_cb: Any,
        limits: Limits,
    ) -> None:
        super().__init__(loop, conn_lost_cb)
        self._limits = limits
        self._buf = bytearray()  # the start of a line whose CRLF has not come yet
        self._cmd: Any = None  # the command whose response continues on the next line
        self._literal_left = 0  # bytes of the kept literal still to come
        self._literal = bytearray()  # the kept literal, filled up to _literal_at
        self._literal_at = 0
        self._scratch = memoryview(bytearray(_READ_SIZE))  # reads outside a kept literal
        self._into_literal = False  # the last get_buffer handed out the literal's free part
        self._depth = 0  # open parentheses of the FETCH item being read
        self._skip = 0  # literal bytes still to read past
        self._kept = 0  # literal bytes kept for the responses in flight
        self._held = 0  # line bytes (with per-line overhead) held for the responses in flight
        self._greeted = False
        # Called with each untagged line, whatever command (if any) it is routed to.
        self.on_untagged: Any = None
        # STARTTLS: the tagged reply is awaited (_upgrading); once it came, reading stops and
        # nothing after it may have been sent in plaintext (_tls_ready).
        self._upgrading = False
        self._tls_ready = False
        self.failure: Exception | None = None

    # -- reading ---------------------------------------------------------------------------

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the transport reads next: the rest of a large kept literal, else the scratch."""
        self._into_literal = self._literal_left >= _READ_SIZE and self.failure is None
        if self._into_literal:
            return memoryview(self._literal)[self._literal_at :]
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        if self.failure is not None:
            return
        if not self._into_literal:
            self.data_received(bytes(self._scratch[:nbytes]))
            return
        self._literal_at += nbytes
        self._literal_left -= nbytes
        self._cmd._reset_timer()  # aioimaplib's inactivity timer: the literal is moving
        if not self._literal_left:
            self._guarded(self._end_literal)

    def data_received(self, d: bytes) -> None:
        if self.failure is not None:
            return
        self._guarded(self._consume, d)

    def _guarded(self, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except _Violation as exc:
            self.fail(exc)
        except Exception as exc:  # aioimaplib's own errors: their text may hold a command
            self.fail(_Violation(f"unexpected response from the server ({type(exc).__name__})"))

    def _consume(self, data: bytes) -> None:
        pos = 0
        size = len(data)
        if self._cmd is not None and (self._skip or self._literal_left):
            self._cmd._reset_timer()  # aioimaplib's inactivity timer: the literal is moving
        while pos < size:
            if self._skip:
                n = min(self._skip, size - pos)
                self._skip -= n
                pos += n
            elif self._literal_left:
                n = min(self._literal_left, size - pos)
                at = self._literal_at
                self._literal[at : at + n] = memoryview(data)[pos : pos + n]
                self._literal_at = at + n
                self._literal_left -= n
                pos += n
                if not self._literal_left:
                    self._end_literal()
            else:
                pos = self._next_line(data, pos)
                if pos < 0:
                    break
                if self._tls_ready:
                    if pos < size:
                        # Bytes after the STARTTLS reply came in plaintext: a response injection.
                        raise _Violation("data after the STARTTLS reply, before TLS")
                    break
        if self.pending_sync_command is not None:
            self.pending_sync_command.flush()

    def _next_line(self, data: bytes, pos: int) -> int:
        """Handle the line that ends in ``data`` after ``pos``; where the next item starts,
        or -1 when the line goes on in the next read (its start kept in ``_buf``)."""
        buf = self._buf
        max_line = self._limits.max_line
        if buf and buf[-1] == 0x0D and data[pos] == 0x0A:  # CRLF split between two reads
            line = bytes(buf[:-1])
            buf.clear()
            self._line(line)
            return pos + 1
        end = data.find(b"\r\n", pos)
        if end < 0:
            if len(buf) + len(data) - pos > max_line:
                raise _Violation(f"response line over {max_line} bytes")
            buf += memoryview(data)[pos:]
            return -1
        if len(buf) + end - pos > max_line:
            raise _Violation(f"response line over {max_line} bytes")
        if buf:
            line = bytes(buf) + data[pos:end]
            buf.clear()
        else:
            line = data[pos:end]
        self._line(line)
        return end + 2

    def _line(self, line: bytes) -> None:
        if self.state == _imaplib.CONNECTED:
            self._greet(line)
            return
        # Untagged lines pile up in the pending command (or the IDLE queue) until its tagged
        # end: a flood of short lines is bounded like literals are.
        self._held += len(line) + _LINE_OVERHEAD
        if self._held > self._limits.max_response + self._limits.max_line:
            raise _Violation("response over its byte bound (a flood of lines)")
        if self.on_untagged is not None and line.startswith(b"* "):
            self.on_untagged(line)
        cmd = self._handle_line(line, self._cmd)
        if cmd is not None and isinstance(cmd, _imaplib.FetchCommand):
            if _FETCH_ITEM.match(line):
                self._depth = 0
            self._depth += line.count(b"(") - line.count(b")")
        size = _literal_size(line)
        if size is not None:
            self._begin_literal(cmd, size)
        elif cmd is not None and isinstance(cmd, _imaplib.FetchCommand) and self._depth > 0:
            self._cmd = cmd
        else:
            self._cmd = None

    def _begin_literal(self, cmd: Any, size: int) -> None:
        limits = self._limits
        if isinstance(cmd, _imaplib.FetchCommand):
            if size > limits.max_literal or self._kept + size > limits.max_response:
                cmd.append_to_resp(Skipped(size))
                self._skip = size
                self._cmd = cmd
                return
            self._kept += size
        elif size > limits.max_line:
            raise _Violation(f"literal of {size} bytes outside a FETCH response")
        if cmd is None:
            # A response no command waits for: its literal and the rest of it are dropped.
            cmd = _imaplib.Command("NIL", "unused", loop=self.loop)
        self._cmd = cmd
        # Allocated at its announced size: within max_literal (FETCH) or max_line (others).
        self._literal = bytearray(size)
        self._literal_at = 0
        self._literal_left = size
        if not size:
            self._end_literal()

    def _end_literal(self) -> None:
        data = bytes(self._literal)
        self._literal = bytearray()
        self._literal_at = 0
        self._cmd.append_to_resp(KeptLiteral(data))

    def _greet(self, line: bytes) -> None:
        if self._greeted or not line:
            return
        self._greeted = True
        if not line.upper().startswith((b"* OK", b"* PREAUTH")):
            word = b"BYE" if line.upper().startswith(b"* BYE") else b"no OK"
            raise _Violation(f"server refused the connection (greeting: {word.decode()})")
        task = asyncio.ensure_future(self.welcome(line))
        self.tasks.add(task)
        task.add_done_callback(self._welcomed)

    def _welcomed(self, task: asyncio.Future[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fail(_Violation("greeting or CAPABILITY not understood"))

    def expect_tls_upgrade(self) -> None:
        """The next tagged reply ends STARTTLS: stop reading plaintext after it."""
        self._upgrading = True
        self._tls_ready = False

    def tls_upgraded(self, transport: Any) -> None:
        """Carry on over the TLS ``transport`` that replaced the plain one."""
        self.transport = transport
        self._tls_ready = False

    def _response_done(self, line: bytes) -> None:
        super()._response_done(line)
        if self._upgrading:
            self._upgrading = False
            self._tls_ready = True
            self.transport.pause_reading()
        if self.pending_sync_command is None and not self.pending_async_commands:
            self._kept = 0
            self._held = 0

    # -- teardown --------------------------------------------------------------------------

    def fail(self, exc: Exception) -> None:
        """Fail every pending command with ``exc`` and drop the connection (idempotent)."""
        if self.failure is None:
            self.failure = exc
        self._buf = bytearray()
        self._cmd = None
        self._skip = 0
        self._literal_left = 0
        self._literal = bytearray()
        self._literal_at = 0
        pending = [self.pending_sync_command, *self.pending_async_commands.values()]
        self.pending_sync_command = None
        self.pending_async_commands = {}
        for cmd in pending:
            if cmd is not None and not cmd._event.is_set():
                cmd._exception = self.failure
                cmd.close(b"", "BYE")
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(_ConnectionGone("connection closed by the server"))
        super().connection_lost(exc)


def _literal_size(line: bytes) -> int | None:
    """The n of a line ending in "{n}", or None."""
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    digits = line[start + 1 : -1]
    if start < 0 or not digits.isdigit():
        return None
    return int(digits) if len(digits) <= 18 else 10**18


class _SaslCommand(_imaplib.Command):  # type: ignore[misc]
    """AUTHENTICATE with a one-shot SASL mechanism (OAUTHBEARER, XOAUTH2).

    aioimaplib hands each "+" line of the pending command to it (``flush``): the first, when
    the initial response was not sent with the command (no SASL-IR), gets the initial
    response; an error challenge (RFC 7628 3.2.2) gets the mechanism's dummy response, after
    which the server ends with NO; one more is cancelled ("*"), and a challenge after that
    breaks the protocol. Its repr shows no argument: the initial response holds the token.
    """

    def __init__(
        self,
        tag: str,
        mechanism: str,
        initial: bytes,
        dummy: bytes,
        *,
        inline: bool,
        write: Any,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__("AUTHENTICATE", tag, mechanism, loop=loop)
        self.mechanism = mechanism
        self._initial = base64.b64encode(initial)
        self._dummy = base64.b64encode(dummy)
        self._write = write
        self._awaiting_initial = not inline
        self._seen = 0
        self._cancelled = False
        self.status: str | None = None  # the error challenge's status, when one came

    def __repr__(self) -> str:
        return f"{self.tag} AUTHENTICATE {self.mechanism}"

    def wire(self, inline: bool) -> bytes:
        head = f"{self.tag} AUTHENTICATE {self.mechanism}".encode()
        return head + (b" " + (self._initial or b"=") if inline else b"") + b"\r\n"

    def flush(self) -> None:
        lines = self._resp_lines
        while self._seen < len(lines):
            line = lines[self._seen]
            self._seen += 1
            if not isinstance(line, bytes | bytearray) or not line.startswith(b"+"):
                continue
            if self._awaiting_initial:
                self._awaiting_initial = False
                self._write(self._initial + b"\r\n")
            elif self.status is None:
                self.status = error_status(bytes(line[1:]).strip()) or "unknown"
                self._write(self._dummy + b"\r\n")
            elif not self._cancelled:
                self._cancelled = True
                self._write(b"*\r\n")  # RFC 3501 6.2.2: cancel the exchange
            else:
                raise _Violation("the server kept challenging after AUTHENTICATE was cancelled")
        # The "+" lines hold the server's challenge, not needed past this point.
        lines[:] = [x for x in lines if not (isinstance(x, bytes) and x.startswith(b"+"))]
        self._seen = len(lines)


class _Client(_imaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib's client on :class:`_BoundedProtocol`."""

    def __init__(self, limits: Limits, **kwargs: Any) -> None:
        self._limits = limits
        super().__init__(**kwargs)

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _BoundedProtocol(local_loop, conn_lost_cb, self._limits)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )
        self._client_task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a task's outcome as seen: abandoned work must not log "never retrieved"."""
    if not task.cancelled():
        task.exception()


class ImapMailbox:
    """One authenticated connection to one folder (and, with IDLE, a second one that stays
    in IDLE to hear of new mail: see :meth:`wait_for_news`)."""

    def __init__(
        self,
        settings: MailboxSettings,
        *,
        tokens: TokenProvider | None = None,
        on_renewed: Callable[[str], None] | None = None,
    ) -> None:
        """``tokens``: an OAuth2 token cache to share with another connection (else a new one
        when ``settings`` sign in with OAuth2). ``on_renewed(connection)``: called after each
        session renewal of this connection or its IDLE connection ("fetching" or "idle")."""
        self._settings = settings
        self._on_renewed = on_renewed
        self._limits = Limits.of(settings)
        self._client: Any = None
        self._lost = asyncio.Event()
        self.uidvalidity: int = 0
        self.exists: int = 0
        self.capabilities: frozenset[str] = frozenset()
        for secret in settings.secrets:
            register_secret(secret)
        self._tokens: TokenProvider | None = None
        if settings.auth.method == "oauth2":
            self._tokens = tokens or token_provider(settings.auth, settings.username)
        # The token this connection signed in with, and when to sign in again with a newer one.
        self._session_token: AccessToken | None = None
        self._renewal = RenewalPlan()
        self._role = FETCHING_CONNECTION  # which connection this is, in logs and metrics
        # The IDLE connection, its task, and "the server announced mail since the last
        # UID SEARCH began" (set by that connection, cleared by uids_after).
        self._watcher: ImapMailbox | None = None
        self._watching: asyncio.Task[None] | None = None
        self._news = asyncio.Event()
        # The server refused the IDLE connection: until close(), IDLE on this one instead.
        self._single = False

    def __repr__(self) -> str:
        return f"ImapMailbox({self._settings.mailbox_id!r})"

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self) -> None:
        """Connect, authenticate, SELECT the folder and read its UIDVALIDITY.

        Each step (greeting, LOGIN, SELECT) runs under ``timeout_seconds``; a server that
        greets and goes quiet, or greets with BYE, fails the connect, never hangs it.
        """
        await self._connect()
        self._plan_renewal()

    async def _connect(self) -> None:
        s = self._settings
        lost = asyncio.Event()
        self._lost = lost
        self._session_token = None
        try:
            client = _Client(
                self._limits,
                host=s.host,
                port=s.port,
                timeout=s.timeout_seconds,
                conn_lost_cb=lambda _exc: lost.set(),
                ssl_context=_ssl_context(s) if s.tls == "implicit" else None,
            )
            self._client = client
            await self._unless_lost(client.wait_hello_from_server(), "greeting")
            if s.tls == "starttls":
                await self._unless_lost(self._starttls(client), "STARTTLS")
            if self._tokens is not None:
                await self._oauth2(client, self._tokens)
            else:
                resp = await self._unless_lost(client.login(s.username, s.secret), "LOGIN")
                if resp.result != "OK":
                    raise ImapAuthError(f"login refused for {s.username!r} on {s.host}:{s.port}")
            self.capabilities = frozenset(
                c.upper() for c in getattr(client.protocol, "capabilities", ())
            )
            await self.select()
        except ImapError:
            await self.close()
            raise
        except TokenError as exc:
            await self.close()
            text = f"no OAuth2 token for {s.username!r}: {exc}"
            # Refused credentials will not fix themselves (retried slowly); an endpoint that
            # cannot be reached is a connection problem (retried with the usual backoff).
            raise (ImapAuthError(text) if exc.reason == "auth" else ImapError(text)) from None
        except (OSError, TimeoutError, aioimaplib.AioImapException, _Violation) as exc:
            error = self._error(f"cannot connect to {s.host}:{s.port}", exc)
            await self.close()
            raise error from None

    def _mechanism(self, client: Any) -> str:
        """OAUTHBEARER when offered (or configured), else XOAUTH2; neither is an error."""
        s = self._settings
        offered = {str(c).upper() for c in client.protocol.capabilities}
        wanted = s.auth.mechanism
        for mechanism in ("OAUTHBEARER", "XOAUTH2"):
            if wanted in ("auto", mechanism.lower()) and f"AUTH={mechanism}" in offered:
                return mechanism
        if wanted == "auto":
            raise ImapAuthError(
                f"{s.host}:{s.port} offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2: "
                "OAuth2 sign-in impossible"
            )
        raise ImapAuthError(
            f"{s.host}:{s.port} does not offer AUTH={wanted.upper()} (auth.mechanism {wanted})"
        )

    async def _oauth2(self, client: Any, tokens: TokenProvider) -> None:
        """Sign in with SASL OAUTHBEARER or XOAUTH2 (RFC 7628), on an encrypted connection.

        A refused token is replaced once (:meth:`TokenProvider.refresh`: the provider may
        have revoked it, or the token file changed) and the sign-in tried again on the same
        connection; a second refusal is an :class:`ImapAuthError`.
        """
        s = self._settings
        protocol: _BoundedProtocol = client.protocol
        if s.tls != "none" and protocol.transport.get_extra_info("ssl_object") is None:
            raise ImapAuthError(
                f"{s.host}:{s.port}: refusing to send a bearer token over an unencrypted "
                "connection"
            )
        if protocol.state != _imaplib.NONAUTH:
            raise ImapAuthError(f"{s.host}:{s.port} is not waiting for a sign-in (PREAUTH)")
        mechanism = self._mechanism(client)
        token = await tokens.token()
        status = await self._authenticate(protocol, mechanism, token)
        if status is not None:
            token = await tokens.refresh(token)
            status = await self._authenticate(protocol, mechanism, token)
        if status is not None:
            raise ImapAuthError(
                f"{mechanism} sign-in refused for {s.username!r} on {s.host}:{s.port} "
                f"({status})"
            )
        self._session_token = token

    # -- signing in again before the token expires ------------------------------------------

    def _plan_renewal(self) -> None:
        """After a sign-in: when to sign in again (never for a password or a token without
        a known expiry). A token due at once is logged, once per run of such tokens."""
        token, tokens = self._session_token, self._tokens
        if token is None or tokens is None:
            self._renewal.clear()
            return
        now = time.time()
        if self._renewal.signed_in(now, tokens.renew_at(token)):
            get_logger().warning(
                "oauth2_token_near_expiry",
                mailbox=self._settings.name,
                connection=self._role,
                expires_in_s=round(token.expires_at - now, 1),
                action="signing in again no more often than the back-off allows",
                next_attempt_in_s=round(self._renewal.seconds_left(now), 1),
            )

    def _hold_back(self, why: str, error: str | None = None) -> None:
        """No newer session now: keep this one and try again later (logged once per run)."""
        if self._renewal.hold_back(time.time()):
            get_logger().warning(
                "imap_session_renewal_postponed",
                mailbox=self._settings.name,
                connection=self._role,
                reason=why,
                **({"error": error} if error is not None else {}),
            )

    async def _renew_if_due(self) -> None:
        """At a quiet point (nothing in flight here): sign in again if the token is due."""
        if self._client is not None and self._renewal.is_due(time.time()):
            await self._renew()

    async def _renew(self) -> None:
        """Replace this session by one signed in with a newer token, then log the old one out.

        The new connection is opened and SELECTed first; if it cannot be had (no newer token,
        the server refuses) this one stays, and the attempt is made again after a back-off.
        A folder whose UIDVALIDITY changed in between is an :class:`ImapError`: the caller
        reconnects and reconciles its position as after any reconnect.
        """
        old, tokens = self._session_token, self._tokens
        assert old is not None and tokens is not None
        try:
            newer = await tokens.token()
        except TokenError as exc:
            self._hold_back("no token could be had", str(exc))
            return
        if newer.value == old.value:
            self._hold_back("the token source has no newer token yet")
            return
        fresh = ImapMailbox(self._settings, tokens=tokens)
        try:
            await fresh._connect()
        except ImapError as exc:  # _connect closed it
            self._hold_back("the new session could not be opened", str(exc))
            return
        except BaseException:
            await fresh.close()
            raise
        if fresh.uidvalidity != self.uidvalidity:
            await fresh.close()
            raise ImapError("UIDVALIDITY changed while signing in again", "connect")
        retired = ImapMailbox(self._settings, tokens=tokens)
        retired._client, retired._lost = self._client, self._lost
        self._client, self._lost = fresh._client, fresh._lost
        fresh._client = None
        self.capabilities = fresh.capabilities
        self.exists = fresh.exists
        self._session_token = fresh._session_token
        # Mail that came between the old session's last command and the new one's SELECT
        # was announced to neither: let the next wait_for_news look (one UID SEARCH).
        self._news.set()
        await retired.close()
        now = time.time()
        token = self._session_token
        assert token is not None
        get_logger().info(
            "imap_session_renewed",
            mailbox=self._settings.name,
            connection=self._role,
            old_token_expires_in_s=round(old.expires_at - now, 1),
            token_expires_in_s=round(token.expires_at - now, 1),
        )
        if self._on_renewed is not None:
            self._on_renewed(self._role)
        self._plan_renewal()

    async def _authenticate(
        self, protocol: _BoundedProtocol, mechanism: str, token: AccessToken
    ) -> str | None:
        """One AUTHENTICATE exchange: None when signed in, else the refusal's status."""
        s = self._settings
        if mechanism == "OAUTHBEARER":
            initial = oauthbearer_response(s.username, s.host, s.port, token.value)
            dummy = OAUTHBEARER_DUMMY
        else:
            initial = xoauth2_response(s.username, token.value)
            dummy = XOAUTH2_DUMMY
        inline = "SASL-IR" in {str(c).upper() for c in protocol.capabilities}
        command = _SaslCommand(
            protocol.new_tag(),
            mechanism,
            initial,
            dummy,
            inline=inline,
            write=protocol.transport.write,
            loop=protocol.loop,
        )
        resp = await self._unless_lost(self._run_sasl(protocol, command, inline), mechanism)
        if resp.result == "OK":
            await self._signed_in(protocol, resp.lines)
            return None
        if resp.result != "NO":
            raise ImapProtocolError(f"AUTHENTICATE {mechanism} ended with {resp.result[:10]}")
        return command.status or "NO"

    @staticmethod
    async def _run_sasl(protocol: _BoundedProtocol, command: _SaslCommand, inline: bool) -> Any:
        # Not aioimaplib's execute(): it logs the command line, which holds the token.
        if protocol.pending_sync_command is not None or protocol.pending_async_commands:
            raise _Violation("AUTHENTICATE with another command in flight")
        protocol.pending_sync_command = command
        protocol.transport.write(command.wire(inline))
        await command.wait()
        return command.response

    async def _signed_in(self, protocol: _BoundedProtocol, lines: Sequence[Any]) -> None:
        """Move to the authenticated state and read the capabilities the server now has."""
        async with protocol.state_condition:
            protocol.state = _imaplib.AUTH
            protocol.state_condition.notify_all()
        for line in lines:
            if isinstance(line, bytes | bytearray) and b"[CAPABILITY " in line.upper():
                text = bytes(line).decode("ascii", "replace")
                start = text.upper().index("[CAPABILITY ") + len("[CAPABILITY ")
                end = text.find("]", start)
                protocol.capabilities = set(text[start : end if end >= 0 else None].split())
                return
        await self._unless_lost(protocol.capability(), "CAPABILITY")

    async def _starttls(self, client: Any) -> None:
        """Upgrade the plain connection to TLS before anything else is sent (RFC 3501 6.2.1).

        Required once chosen: a server that does not offer STARTTLS, refuses it, or greets
        with PREAUTH (already signed in, so no upgrade is possible) fails the connection;
        there is no fallback to plaintext and LOGIN is never sent. The certificate is checked
        as for implicit TLS. Capabilities are read again over TLS; the ones before are void.
        """
        s = self._settings
        where = f"{s.host}:{s.port}"
        protocol: _BoundedProtocol = client.protocol
        if protocol.state != _imaplib.NONAUTH:
            raise ImapError(
                f"STARTTLS impossible on {where}: the server greeted with PREAUTH "
                "(refusing to go on in plaintext)"
            )
        offered = {str(c).upper() for c in protocol.capabilities}
        if "STARTTLS" not in offered:
            raise ImapError(
                f"tls is starttls but {where} does not offer STARTTLS "
                "(refusing to sign in over plaintext)"
            )
        protocol.expect_tls_upgrade()
        resp = await protocol.execute(
            _imaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        )
        if protocol.failure is not None:
            raise protocol.failure
        if resp.result != "OK":
            raise ImapError(
                f"{where} refused STARTTLS ({resp.result[:10]}); refusing to sign in over plaintext"
            )
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(
            protocol.transport,
            protocol,
            _ssl_context(s),
            server_hostname=s.host,
            ssl_handshake_timeout=s.timeout_seconds,
        )
        protocol.tls_upgraded(transport)
        await protocol.capability()

    async def select(self) -> None:
        resp = await self._command("select", self._settings.folder)
        validity: int | None = None
        for line in resp.lines:
            if isinstance(line, bytes | bytearray):
                if m := _UIDVALIDITY.search(line):
                    validity = _nz_number(m.group(1), "UIDVALIDITY")
                if m := _EXISTS.match(line):
                    self.exists = _size(m.group(1))
        if validity is None:
            raise ImapProtocolError(f"SELECT {self._settings.folder!r} gave no UIDVALIDITY")
        self.uidvalidity = validity

    @property
    def supports_idle(self) -> bool:
        """IDLE is used when the server offers it and the config does not turn it off."""
        return self._settings.idle and "IDLE" in self.capabilities

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid``, ascending (one UID SEARCH round trip)."""
        # Mail announced from now on may be missing from this answer: wait_for_news must
        # not wait for it. Announced before, it is in the answer -- once this connection has
        # seen it too: Dovecot runs a command on the folder as the connection last saw it
        # and reports what changed (EXISTS) after, so an EXISTS in any response here is news.
        await self._renew_if_due()  # first: the SEARCH below runs on the session it watches
        protocol: _BoundedProtocol = self._require().protocol
        protocol.on_untagged = self._heard
        self._news.clear()
        resp = await self._command("uid_search", f"UID {last_uid + 1}:*")
        uids = parse_search(resp.lines[:-1])
        # "n:*" always matches the highest UID even when it is below n (RFC 3501 6.4.8).
        return sorted(u for u in set(uids) if u > last_uid)

    async def fetch_info(self, uids: Sequence[int]) -> list[MessageInfo]:
        """Size and arrival time of ``uids``, no bodies; one UID FETCH (one round trip)."""
        lines = await self._fetch(uids, "(UID RFC822.SIZE INTERNALDATE)")
        return sorted((info for info, _ in parse_fetch(lines)), key=lambda m: m.uid)

    async def fetch_bodies(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """Whole messages for ``uids``, one UID FETCH; BODY.PEEK never sets \\Seen.

        The caller bounds ``uids`` (a batch: batch_max_messages, batch_max_bytes of honest
        sizes); the protocol bounds what a lying server can make it keep.

        A body the protocol read past (larger than max_message_bytes, or than the batch's
        bytes when the sizes lied) comes back ``oversized``, with no bytes: dead-letter it
        by reference.
        """
        lines = await self._fetch(uids, "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        got: dict[int, FetchedMessage] = {}
        for info, literal in parse_fetch(lines):
            if isinstance(literal, Skipped):
                size = max(info.size, literal.size)
                got[info.uid] = FetchedMessage(info.uid, size, info.internal_date, b"", True)
            elif literal is not None:
                got[info.uid] = FetchedMessage(info.uid, info.size, info.internal_date, literal)
        # A UID expunged between SEARCH and FETCH is simply absent: nothing to process.
        return [got[u] for u in sorted(got)]

    async def _fetch(self, uids: Sequence[int], items: str) -> list[Any]:
        # One command, one round trip: over a real network the round trips, not the bytes,
        # set the pace. Its deadline grows with the messages it asks for.
        if not uids:
            return []
        chunks = -(-len(uids) // FETCH_CHUNK)
        timeout = self._settings.timeout_seconds * chunks
        resp = await self._command("uid", "fetch", uid_set(uids), items, timeout=timeout)
        lines: list[Any] = resp.lines
        return lines

    async def wait_for_news(self, timeout: float, stop: asyncio.Event) -> None:
        """Block until the server announces new mail since the last :meth:`uids_after`
        began, ``timeout`` passes, or ``stop`` is set.

        With IDLE, a second connection to the folder stays in IDLE for as long as this one
        lives (re-issued every ``timeout``, as RFC 2177 asks), so an announcement is heard
        at the server's pace even while this connection is busy fetching: leaving IDLE
        after each announcement to fetch would make the server start its notification delay
        over again. Without IDLE, sleeps (the caller polls again afterwards). A failure of
        the IDLE connection is an :class:`ImapError`, and closes both; if it cannot even be
        opened (a server that allows one connection per account), this connection enters
        IDLE itself while waiting, until it is closed.

        When this connection's OAuth2 token is due for renewal first, the wait ends then and
        the connection signs in again before returning.
        """
        idle_every = timeout
        timeout = min(timeout, self._renewal.seconds_left(time.time()))
        await self._wait_for_news(idle_every, timeout, stop)
        await self._renew_if_due()

    async def _wait_for_news(self, idle_every: float, timeout: float, stop: asyncio.Event) -> None:
        if not self.supports_idle:
            await _wait_or_stop(asyncio.sleep(timeout), stop, timeout)
            return
        if self._single:
            if not self._news.is_set() and timeout > 0:  # an EXISTS in the last SEARCH: no wait
                await self._idle_here(timeout, stop)
            return
        self._require()
        watching = self._watching
        if watching is None:
            watching = self._watching = asyncio.ensure_future(self._watch(idle_every))
        news = asyncio.ensure_future(self._news.wait())
        stopper = asyncio.ensure_future(stop.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait(
                {news, stopper, lost, watching},
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for task in (news, stopper, lost):
                task.cancel()
                task.add_done_callback(_retrieve)
        if self._lost.is_set():
            await self.close()
            raise ImapError("connection closed by the server", "connect")
        if watching.done():
            error = watching.exception() if not watching.cancelled() else None
            if isinstance(error, _NoSecondConnection):
                self._watching = None
                self._single = True
                get_logger().warning(
                    "imap_idle_connection_refused",
                    mailbox=self._settings.name,
                    error=str(error),
                    action="IDLE on the fetching connection while waiting",
                )
                return
            await self.close()
            if isinstance(error, ImapError):
                raise error
            raise ImapError("IDLE failed: its connection closed", "connect")

    async def _idle_here(self, timeout: float, stop: asyncio.Event) -> None:
        """IDLE on this connection until an announcement, ``timeout`` or ``stop``."""
        client = self._require()
        try:
            idle = await self._unless_lost(client.idle_start(timeout=timeout), "IDLE")
            idle.add_done_callback(_retrieve)  # awaited below unless the connection fails
            push = asyncio.ensure_future(client.wait_server_push(timeout=timeout))
            stopper = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(self._lost.wait())
            try:
                await asyncio.wait({push, stopper, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (push, stopper, lost):
                    task.cancel()
                    task.add_done_callback(_retrieve)
            if self._lost.is_set():
                raise ConnectionError("connection closed by the server")
            client.idle_done()
            await self._unless_lost(idle, "IDLE")
        except (OSError, TimeoutError, aioimaplib.AioImapException, _Violation) as exc:
            error = self._error("IDLE failed", exc)
            await self.close()
            raise error from None

    def _heard(self, line: bytes) -> None:
        """An untagged line on either connection: an EXISTS announces mail."""
        if _EXISTS.match(line):
            self._news.set()

    async def _watch(self, idle_timeout: float) -> None:
        """The IDLE connection's life: connect, SELECT, then IDLE until it fails.

        Every untagged EXISTS it reads sets ``_news``, wherever aioimaplib routes the line
        (an announcement can come between DONE and the next IDLE). Once in IDLE the first
        time on a session, ``_news`` is set as well: mail that came before it was heard may
        be unread. An IDLE ends early when the session's OAuth2 token is due for renewal;
        the connection then signs in again (see :meth:`_renew`) and goes back to IDLE.
        """
        # One token cache for both connections, and one renewal count.
        watcher = ImapMailbox(self._settings, tokens=self._tokens, on_renewed=self._on_renewed)
        watcher._role = IDLE_CONNECTION
        self._watcher = watcher
        try:
            await watcher.connect()
        except ImapError as exc:
            raise _NoSecondConnection(str(exc)) from None
        news = self._news
        s = self._settings
        client: Any = None
        try:
            while True:
                if watcher._renewal.is_due(time.time()):
                    await watcher._renew()  # a new session, or a later attempt
                if watcher._require() is not client:
                    client = watcher._require()
                    protocol: _BoundedProtocol = client.protocol
                    protocol.on_untagged = self._heard
                    first = True
                every = min(idle_timeout, watcher._renewal.seconds_left(time.time()))
                idle = await watcher._unless_lost(client.idle_start(timeout=every), "IDLE")
                idle.add_done_callback(_retrieve)  # awaited below unless the connection fails
                if first:  # see the docstring; a re-issued IDLE is no news (it would poll)
                    news.set()
                    first = False
                while True:
                    # aioimaplib ends the wait with STOP_WAIT_SERVER_PUSH after ``every``.
                    push = await watcher._unless_lost(
                        client.wait_server_push(timeout=every + s.timeout_seconds),
                        "IDLE",
                        every + s.timeout_seconds,
                    )
                    if push == _imaplib.STOP_WAIT_SERVER_PUSH:
                        break
                client.idle_done()
                await watcher._unless_lost(idle, "IDLE")
        except ImapError:
            raise
        except (OSError, TimeoutError, aioimaplib.AioImapException, _Violation) as exc:
            raise watcher._error("IDLE failed", exc) from None
        finally:
            await watcher.close()

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
        """Log out (best effort, briefly) and drop the connection. Safe to call twice.

        No LOGOUT on a connection that is already gone or never got past the greeting; on a
        live one it gets LOGOUT_SECONDS at most.
        """
        self._single = False
        watching, self._watching = self._watching, None
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(BaseException):
                await watching
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await watcher.close()
        client, self._client = self._client, None
        if client is None:
            return
        protocol: _BoundedProtocol = client.protocol
        transport = protocol.transport
        alive = (
            transport is not None
            and not transport.is_closing()
            and not self._lost.is_set()
            and protocol.failure is None
            and protocol.state in (_imaplib.NONAUTH, _imaplib.AUTH, _imaplib.SELECTED)
            and not protocol.pending_async_commands
            and protocol.pending_sync_command is None
        )
        if alive:
            # The connection is being discarded either way.
            with contextlib.suppress(Exception):
                await self._unless_lost(
                    client.logout(), "LOGOUT", min(LOGOUT_SECONDS, self._settings.timeout_seconds)
                )
        if client._idle_waiter is not None:
            client._idle_waiter.cancel()
        protocol.fail(_ConnectionGone("connection closed by the client"))

    async def _unless_lost(self, aw: Any, what: str, timeout: float | None = None) -> Any:
        """Await ``aw`` under a deadline; fail at once if the server drops the connection.

        The watchdog: past the deadline the transport is aborted and every pending command
        failed, so nothing inside aioimaplib is left waiting (its own waits are not all
        cancellable: the greeting wait re-acquires a lock held by a stuck CAPABILITY).
        The abandoned awaitable is never awaited again; its outcome is marked as seen.
        """
        task = asyncio.ensure_future(aw)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=self._settings.timeout_seconds if timeout is None else timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            task.cancel()
            task.add_done_callback(_retrieve)
            raise
        finally:
            lost.cancel()
            lost.add_done_callback(_retrieve)
        if task in done:
            return task.result()
        task.cancel()
        task.add_done_callback(_retrieve)
        failure = self._failure()
        if failure is not None:
            raise failure
        if self._lost.is_set():
            raise _ConnectionGone("connection closed by the server")
        self._abort(_Violation(f"{what} timed out"))
        raise TimeoutError

    def _failure(self) -> Exception | None:
        client = self._client
        return None if client is None else client.protocol.failure

    def _abort(self, exc: Exception) -> None:
        if self._client is not None:
            self._client.protocol.fail(exc)

    def _error(self, what: str, exc: BaseException) -> ImapError:
        """An :class:`ImapError` for ``exc`` whose text holds nothing the server or a command
        wrote: aioimaplib's exceptions can carry the command they failed on, and a LOGIN
        command carries the password."""
        if isinstance(exc, TimeoutError | _imaplib.CommandTimeout):
            return ImapError(f"{what}: timed out", "timeout")
        failure = self._failure()
        if isinstance(exc, _Violation) or isinstance(failure, _Violation):
            cause = exc if isinstance(exc, _Violation) else failure
            return ImapProtocolError(f"{what}: {cause}")
        if isinstance(exc, _ConnectionGone):
            return ImapError(f"{what}: {exc}", "connect")
        if isinstance(exc, OSError):
            text = f"{what}: {exc.strerror or type(exc).__name__}"
            for secret in self._settings.secrets:
                text = text.replace(secret, "***")
            return ImapError(text, "connect")
        return ImapProtocolError(f"{what}: {type(exc).__name__}")

    def _require(self) -> Any:
        if self._client is None:
            raise ImapError("not connected")
        if self._lost.is_set():
            raise ImapError("connection closed by the server")
        return self._client

    async def _command(self, name: str, *args: str, timeout: float | None = None) -> Any:
        # Between commands nothing is in flight on this connection: a quiet point to sign in
        # again if the token is due (never during the SELECT of a connect: nothing is due).
        await self._renew_if_due()
        client = self._require()
        what = name.upper().replace("_", " ")
        try:
            resp = await self._unless_lost(getattr(client, name)(*args), what, timeout)
        except (OSError, TimeoutError, aioimaplib.AioImapException, _Violation) as exc:
            error = self._error(f"{what} failed", exc)
            await self.close()
            raise error from None
        if resp.result != "OK":
            raise ImapError(f"{what} {args[0] if args else ''} -> {resp.result[:10]}", "protocol")
        return resp


async def _wait_or_stop(aw: Any, stop: asyncio.Event, timeout: float) -> None:
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()
        stopper.cancel()
