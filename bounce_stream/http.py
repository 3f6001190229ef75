"""A tiny asyncio HTTP server for ``/metrics``, ``/healthz`` and ``/readyz``.

/healthz answers 200 while the event loop runs (a wedged loop cannot answer at all).
/readyz answers 200 only when every mailbox this instance owns is connected to IMAP and its
transactional producer is initialised; otherwise 503 with one line per mailbox that is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessProbe = Callable[[], list[str]]

# The port may face a network (the chart binds 0.0.0.0): every resource a client can hold is
# bounded. A line (request line or header) is at most _MAX_LINE bytes, a request at most
# _MAX_HEADER_LINES header lines, and all of it must arrive within the request deadline.
_MAX_LINE = 8192
_MAX_HEADER_LINES = 64
MAX_CONNECTIONS = 32
REQUEST_DEADLINE_S = 5.0
RESPONSE_DEADLINE_S = 10.0
_LINGER_BYTES = 1024 * 1024

_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class _TooLarge(Exception):
    """The request has more header lines than accepted."""


class ProbeServer:
    """Serves the probes and metrics with at most ``max_connections`` sockets open.

    A connection past the cap evicts the oldest one still sending its request (a slow or idle
    client), so a probe that asks at once is always answered and file descriptors stay bounded.
    """

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        not_ready: ReadinessProbe,
        *,
        max_connections: int = MAX_CONNECTIONS,
        request_deadline: float = REQUEST_DEADLINE_S,
        response_deadline: float = RESPONSE_DEADLINE_S,
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._not_ready = not_ready
        self._max_connections = max_connections
        self._request_deadline = request_deadline
        self._response_deadline = response_deadline
        self._server: asyncio.Server | None = None
        # Open connections, oldest first; True while the request is still being read.
        self._open: dict[asyncio.StreamWriter, bool] = {}
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """Client connections open right now."""
        return len(self._open)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle,
            self._host,
            self._port,
            limit=_MAX_LINE,
            backlog=self._max_connections,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for writer in list(self._open):
                writer.transport.abort()
            # Let every handler see its connection gone and end before the loop does: a
            # handler task still pending at loop shutdown prints a traceback (Python 3.11).
            if self._handlers:
                await asyncio.wait(self._handlers, timeout=1)
            await server.wait_closed()

    def _route(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            problems = self._not_ready()
            if problems:
                body = "".join(f"{p}\n" for p in problems).encode()
                return 503, "text/plain; charset=utf-8", body
            return 200, "text/plain; charset=utf-8", b"ready\n"
        return 404, "text/plain; charset=utf-8", b"not found\n"

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Make room for ``writer``: evict the oldest client still sending, or refuse it."""
        if len(self._open) >= self._max_connections:
            oldest_reading = next((w for w, reading in self._open.items() if reading), None)
            if oldest_reading is None:
                return False  # every slot is busy answering: refuse the newcomer
            self._open.pop(oldest_reading)
            oldest_reading.transport.abort()
        self._open[writer] = True
        return True

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes:
        """The request line; the headers are read (bounded) and dropped. No bodies."""
        line = await reader.readline()
        for _ in range(_MAX_HEADER_LINES + 1):
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                return line
        raise _TooLarge

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        if not self._admit(writer):
            writer.transport.abort()
            return
        answered = False
        try:
            try:
                async with asyncio.timeout(self._request_deadline):
                    line = await self._read_request(reader)
            except (ValueError, _TooLarge):
                # readline() past the stream limit, or too many header lines.
                status, ctype, body, send_body = 431, "text/plain; charset=utf-8", b"", True
            else:
                parts = line.decode("latin-1").split()
                if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                    status, ctype, body = 405, "text/plain; charset=utf-8", b"method not allowed\n"
                else:
                    status, ctype, body = self._route(parts[1].split("?", 1)[0])
                send_body = not parts or parts[0] != "HEAD"
            if writer in self._open:
                self._open[writer] = False  # answering: not evicted for a newcomer
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            async with asyncio.timeout(self._response_deadline):
                writer.write(head + (body if send_body else b""))
                await writer.drain()
                if status == 431:
                    await _linger(reader, writer)
            answered = True
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # slow or vanished clients get no answer; nothing worth logging
        finally:
            self._open.pop(writer, None)
            if answered:
                writer.close()
            else:
                writer.transport.abort()  # never keep a socket open to flush to a slow reader


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read (and drop) what the client still sends, so closing does not reset the connection
    before it reads the answer. Bounded by the response deadline and _LINGER_BYTES."""
    if writer.can_write_eof():
        writer.write_eof()
    left = _LINGER_BYTES
    while left > 0:
        chunk = await reader.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)
