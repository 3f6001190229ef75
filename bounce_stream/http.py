"""A tiny asyncio HTTP server for ``/metrics``, ``/healthz`` and ``/readyz``.

/healthz answers 200 while the event loop runs (a wedged loop cannot answer at all).
/readyz answers 200 only when every mailbox this instance owns is connected to IMAP and its
transactional producer is initialised; otherwise 503 with one line per mailbox that is not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessProbe = Callable[[], list[str]]
_MAX_REQUEST_LINE = 8192


class ProbeServer:
    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, not_ready: ReadinessProbe
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._not_ready = not_ready
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
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

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=10)
            # Drain the request headers; bodies are not accepted.
            while True:
                header = await asyncio.wait_for(reader.readline(), timeout=10)
                if header in (b"\r\n", b"\n", b""):
                    break
            parts = line[:_MAX_REQUEST_LINE].decode("latin-1").split()
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain; charset=utf-8", b"method not allowed\n"
            else:
                status, ctype, body = self._route(parts[1].split("?", 1)[0])
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(head + (body if parts and parts[0] != "HEAD" else b""))
            await writer.drain()
        except ValueError:
            # readline() past the stream limit: an oversized request line or header.
            with contextlib.suppress(ConnectionError):
                writer.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # slow or vanished clients get no answer; nothing worth logging
        finally:
            writer.close()
