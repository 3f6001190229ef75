"""A scripted, misbehaving IMAP server on 127.0.0.1 for the hostile tests and the benchmark.

It speaks just enough IMAP4rev1 for bounce-stream (CAPABILITY, LOGIN, SELECT, UID SEARCH,
UID FETCH, NOOP, LOGOUT; no IDLE, so the client polls) and then breaks the protocol in one
chosen way (:class:`Scenario`). It runs its own asyncio loop in a daemon thread, so a test can
drive the service (a subprocess) or an in-process client next to it. Every connection gets
the same script; counters tell the test how often the client came back.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from enum import StrEnum


class Scenario(StrEnum):
    HEALTHY = "healthy"  # behaves: the control case
    SILENT = "silent"  # greets, then never answers anything
    BYE = "bye"  # greets with BYE and keeps the connection open
    WRONG_TAG = "wrong_tag"  # answers LOGIN with a tag the client never sent
    GIANT_LITERAL = "giant_literal"  # a {999999999} literal, `literal_bytes` sent, then silence
    LYING_SIZE = "lying_size"  # RFC822.SIZE says 1000; the body is `literal_bytes` long
    EXPUNGE_FLOOD = "expunge_flood"  # `flood_lines` EXPUNGE lines before the SEARCH answer
    HUGE_UID = "huge_uid"  # SEARCH answers a UID of 2**70
    BAD_SEARCH = "bad_search"  # SEARCH answers one non-numeric token among UIDs
    DEAD_AFTER_SELECT = "dead_after_select"  # drops every connection right after SELECT
    STARTTLS_REFUSED = "starttls_refused"  # offers STARTTLS, answers it NO
    STARTTLS_INJECT = "starttls_inject"  # answers STARTTLS OK plus a plaintext line after it


_TAGGED = re.compile(rb"^(\S+)\s+(.*)$", re.DOTALL)
_SEQ = re.compile(rb"^(\d+)(?::(\d+|\*))?$")
CHUNK = 1 << 20


@dataclass
class HostileImapServer:
    scenario: Scenario
    password: str
    username: str = "hostile@example.test"
    messages: dict[int, bytes] = field(default_factory=dict)
    literal_bytes: int = 300 * CHUNK
    flood_lines: int = 50_000
    uidvalidity: int = 4242
    port: int = 0
    connections: int = 0
    logins: int = 0
    literal_sent: int = 0
    verbs: list[bytes] = field(default_factory=list)  # every command verb received, in order
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.base_events.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _sessions: set[asyncio.Task[None]] = field(default_factory=set)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> HostileImapServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._session, "127.0.0.1", 0, limit=1 << 16)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"hostile-imap-{self.scenario}")
        self._thread.daemon = True
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("hostile IMAP server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            if self._sessions:
                await asyncio.wait(set(self._sessions), timeout=5)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> HostileImapServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- one connection --------------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._sessions.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _script(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.scenario is Scenario.BYE:
            writer.write(b"* BYE not today\r\n")
            await writer.drain()
            await reader.read()  # hold the connection open until the client gives up
            return
        writer.write(b"* OK hostile IMAP ready\r\n")
        await writer.drain()
        if self.scenario is Scenario.SILENT:
            while await reader.read(1 << 16):
                pass
            return
        while line := await reader.readline():
            m = _TAGGED.match(line.rstrip(b"\r\n"))
            if m is None:
                continue
            tag, rest = m.group(1), m.group(2)
            words = rest.split()
            verb = words[0].upper() if words else b""
            self.verbs.append(verb)
            starttls = self.scenario in (Scenario.STARTTLS_REFUSED, Scenario.STARTTLS_INJECT)
            if verb == b"CAPABILITY":
                caps = b"IMAP4rev1 UIDPLUS" + (b" STARTTLS" if starttls else b"")
                writer.write(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
            elif verb == b"STARTTLS" and self.scenario is Scenario.STARTTLS_REFUSED:
                writer.write(tag + b" NO not today\r\n")
            elif verb == b"STARTTLS" and self.scenario is Scenario.STARTTLS_INJECT:
                writer.write(tag + b" OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
            elif verb == b"LOGIN":
                self.logins += 1
                if self.scenario is Scenario.WRONG_TAG:
                    writer.write(b"ZZZ999 OK LOGIN completed\r\n")
                elif self.password.encode() in rest:
                    writer.write(tag + b" OK LOGIN completed\r\n")
                else:
                    writer.write(tag + b" NO [AUTHENTICATIONFAILED] bad password\r\n")
            elif verb in (b"SELECT", b"EXAMINE"):
                uidnext = max(self.messages, default=0) + 1
                writer.write(
                    b"* %d EXISTS\r\n* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n"
                    % (len(self.messages), self.uidvalidity, uidnext)
                )
                writer.write(tag + b" OK [READ-WRITE] SELECT completed\r\n")
                if self.scenario is Scenario.DEAD_AFTER_SELECT:
                    await writer.drain()
                    return
            elif verb == b"UID" and len(words) > 1 and words[1].upper() == b"SEARCH":
                await self._search(tag, words, writer)
            elif verb == b"UID" and len(words) > 2 and words[1].upper() == b"FETCH":
                if not await self._fetch(tag, words[2], rest, writer):
                    while await reader.read(1 << 16):  # silence until the client gives up
                        pass
                    return
            elif verb == b"NOOP":
                writer.write(tag + b" OK NOOP completed\r\n")
            elif verb == b"LOGOUT":
                writer.write(b"* BYE bye\r\n" + tag + b" OK LOGOUT completed\r\n")
                await writer.drain()
                return
            else:
                writer.write(tag + b" BAD unknown command\r\n")
            await writer.drain()

    async def _search(self, tag: bytes, words: list[bytes], writer: asyncio.StreamWriter) -> None:
        first = 1
        if len(words) > 3 and (m := _SEQ.match(words[3])):
            first = int(m.group(1))
        uids = [u for u in sorted(self.messages) if u >= first]
        if self.scenario is Scenario.EXPUNGE_FLOOD:
            for start in range(0, self.flood_lines, 1000):
                n = min(1000, self.flood_lines - start)
                writer.write(b"".join(b"* %d EXPUNGE\r\n" % (start + i + 1) for i in range(n)))
                await writer.drain()
        tokens = [str(u).encode() for u in uids]
        if self.scenario is Scenario.HUGE_UID:
            tokens.append(str(2**70).encode())
        if self.scenario is Scenario.BAD_SEARCH:
            tokens.insert(len(tokens) // 2, b"x17")
        writer.write(b"* SEARCH " + b" ".join(tokens) + b"\r\n" + tag + b" OK SEARCH completed\r\n")

    async def _fetch(
        self, tag: bytes, uid_set: bytes, rest: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one UID FETCH; False when the script ends the conversation (silence)."""
        wanted = _expand(uid_set, max(self.messages, default=0))
        with_body = b"BODY" in rest.upper()
        for seq, uid in enumerate(sorted(self.messages), start=1):
            if uid not in wanted:
                continue
            body = self.messages[uid]
            lying = self.scenario in (Scenario.LYING_SIZE, Scenario.GIANT_LITERAL) and uid == min(
                self.messages
            )
            size = 1000 if lying else len(body)
            head = (
                b'* %d FETCH (UID %d RFC822.SIZE %d INTERNALDATE "25-Nov-2026 10:00:00 +0000"'
                % (
                    seq,
                    uid,
                    size,
                )
            )
            if not with_body:
                writer.write(head + b")\r\n")
                continue
            if lying and self.scenario is Scenario.GIANT_LITERAL:
                writer.write(head + b" BODY[] {999999999}\r\n")
                await self._stream(writer, self.literal_bytes)
                return False
            if lying:
                writer.write(head + b" BODY[] {%d}\r\n" % self.literal_bytes)
                await self._stream(writer, self.literal_bytes)
                writer.write(b")\r\n")
                continue
            writer.write(head + b" BODY[] {%d}\r\n" % len(body) + body + b")\r\n")
        writer.write(tag + b" OK FETCH completed\r\n")
        return True

    async def _stream(self, writer: asyncio.StreamWriter, total: int) -> None:
        chunk = b"X" * CHUNK
        sent = 0
        while sent < total:
            n = min(CHUNK, total - sent)
            writer.write(chunk[:n])
            await writer.drain()
            sent += n
            self.literal_sent += n


def _expand(uid_set: bytes, highest: int) -> set[int]:
    out: set[int] = set()
    for part in uid_set.split(b","):
        m = _SEQ.match(part)
        if m is None:
            continue
        low = int(m.group(1))
        high_raw = m.group(2)
        high = low if high_raw is None else (highest if high_raw == b"*" else int(high_raw))
        out.update(range(min(low, high), max(low, high) + 1))
    return out
