"""The probe HTTP server: /healthz, /readyz, /metrics on a loopback socket."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry, Counter

from bounce_stream.http import ProbeServer


@dataclass
class Readiness:
    """A not_ready callable whose answer the test sets."""

    problems: list[str] = field(default_factory=list)
    calls: int = 0

    def __call__(self) -> list[str]:
        self.calls += 1
        return list(self.problems)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Probe:
    server: ProbeServer
    readiness: Readiness
    registry: CollectorRegistry


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    registry = CollectorRegistry()
    counter = Counter("probe_test_things", "Things counted by the test.", registry=registry)
    counter.inc(3)
    readiness = Readiness()
    server = ProbeServer("127.0.0.1", 0, registry, readiness)
    await server.start()
    try:
        yield Probe(server, readiness, registry)
    finally:
        await server.stop()


async def _request(port: int, method: str, path: str) -> Response:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), headers, body)


async def test_port_zero_binds_an_ephemeral_port(probe: Probe) -> None:
    """Configured with port 0, the server reports the real port it bound."""
    assert probe.server.port > 0


async def test_healthz_ok(probe: Probe) -> None:
    """GET /healthz answers 200 while the loop runs, without asking readiness."""
    response = await _request(probe.server.port, "GET", "/healthz")
    assert response.status == 200
    assert response.body == b"ok\n"
    assert probe.readiness.calls == 0


async def test_readyz_ready(probe: Probe) -> None:
    """GET /readyz answers 200 when the readiness callable reports no problem."""
    response = await _request(probe.server.port, "GET", "/readyz")
    assert response.status == 200
    assert probe.readiness.calls == 1


async def test_readyz_not_ready_lists_problems(probe: Probe) -> None:
    """GET /readyz answers 503 with one line per reported problem."""
    probe.readiness.problems = ["main: IMAP disconnected", "other: producer not initialised"]
    response = await _request(probe.server.port, "GET", "/readyz")
    assert response.status == 503
    assert response.body.decode().splitlines() == [
        "main: IMAP disconnected",
        "other: producer not initialised",
    ]


async def test_readyz_follows_state_changes(probe: Probe) -> None:
    """Readiness is asked on every request, so 503 turns into 200 when problems clear."""
    probe.readiness.problems = ["main: connecting"]
    assert (await _request(probe.server.port, "GET", "/readyz")).status == 503
    probe.readiness.problems = []
    assert (await _request(probe.server.port, "GET", "/readyz")).status == 200


async def test_metrics_exposition(probe: Probe) -> None:
    """GET /metrics serves the given registry in Prometheus text format."""
    response = await _request(probe.server.port, "GET", "/metrics")
    assert response.status == 200
    media_type, *params = (p.strip() for p in response.headers["content-type"].split(";"))
    assert media_type == "text/plain"
    # prometheus_client announces 0.0.4 or, since 0.22, 1.0.0 of the text format.
    assert ("version=0.0.4" in params) or ("version=1.0.0" in params)
    assert b"probe_test_things_total 3.0" in response.body
    assert int(response.headers["content-length"]) == len(response.body)


async def test_metrics_ignores_query_string(probe: Probe) -> None:
    """A query string does not change routing (/metrics?x=1 is /metrics)."""
    response = await _request(probe.server.port, "GET", "/metrics?name[]=x")
    assert response.status == 200
    assert b"probe_test_things_total" in response.body


async def test_unknown_path_404(probe: Probe) -> None:
    """An unknown path answers 404."""
    assert (await _request(probe.server.port, "GET", "/nope")).status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_other_methods_405(probe: Probe, method: str) -> None:
    """Methods other than GET/HEAD answer 405 even on known paths."""
    assert (await _request(probe.server.port, method, "/healthz")).status == 405


async def test_head_has_no_body(probe: Probe) -> None:
    """HEAD answers with the status and length of GET but without a body."""
    response = await _request(probe.server.port, "HEAD", "/healthz")
    assert response.status == 200
    assert response.headers["content-length"] == "3"
    assert response.body == b""


async def test_stop_closes_the_port_and_is_idempotent(probe: Probe) -> None:
    """After stop() the port refuses connections; a second stop() is harmless."""
    port = probe.server.port
    await probe.server.stop()
    await probe.server.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def _raw_exchange(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=5)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_server_survives_garbage(probe: Probe) -> None:
    """Garbage, an empty request and an over-long header do not stop later requests working."""
    await _raw_exchange(probe.server.port, b"\r\n\r\n")
    await _raw_exchange(probe.server.port, b"\x00\xff junk\r\n\r\n")
    await _raw_exchange(
        probe.server.port, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 200_000 + b"\r\n\r\n"
    )
    assert (await _request(probe.server.port, "GET", "/healthz")).status == 200


async def test_empty_request_line_is_405(probe: Probe) -> None:
    """A blank request (no method, no path) is answered 405, not left hanging."""
    answer = await _raw_exchange(probe.server.port, b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 ")


async def test_overlong_header_gets_an_http_error() -> None:
    """A header line longer than the stream limit is answered with an HTTP 4xx status."""
    errors: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    server = ProbeServer("127.0.0.1", 0, CollectorRegistry(), Readiness())
    await server.start()
    try:
        answer = await _raw_exchange(
            server.port, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 200_000 + b"\r\n\r\n"
        )
        await asyncio.sleep(0.05)
    finally:
        await server.stop()
        loop.set_exception_handler(None)
    assert errors == []
    assert answer.startswith(b"HTTP/1.1 4")


# --- bounded resources ---------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _slow_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends the start of a request and then nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    return reader, writer


async def test_many_slow_clients_keep_fds_bounded_and_healthz_answers() -> None:
    """300 slow clients hold at most the cap of server sockets, and /healthz still answers."""
    cap, clients = 16, 300
    server = ProbeServer(
        "127.0.0.1", 0, CollectorRegistry(), Readiness(), max_connections=cap, request_deadline=60
    )
    await server.start()
    before = _open_fds()
    held: list[asyncio.StreamWriter] = []
    try:
        for _ in range(clients):
            held.append((await _slow_client(server.port))[1])
        await asyncio.sleep(0.5)  # let the server accept (and evict) all of them
        assert server.connections <= cap
        # Our own 300 client sockets, the server's <= cap, a little slack for the loop.
        assert _open_fds() - before <= clients + cap + 10
        response = await asyncio.wait_for(_request(server.port, "GET", "/healthz"), timeout=5)
        assert response.status == 200
    finally:
        for writer in held:
            writer.close()
        await server.stop()


async def test_evicted_slow_client_is_disconnected() -> None:
    """Past the cap, the oldest client still sending its request is the one disconnected."""
    server = ProbeServer(
        "127.0.0.1", 0, CollectorRegistry(), Readiness(), max_connections=2, request_deadline=60
    )
    await server.start()
    try:
        first_reader, first = await _slow_client(server.port)
        _, second = await _slow_client(server.port)
        await asyncio.sleep(0.1)
        _, third = await _slow_client(server.port)
        try:
            data = await asyncio.wait_for(first_reader.read(), timeout=5)
        except ConnectionError:
            data = b""
        assert data == b""
        assert server.connections <= 2
        for writer in (first, second, third):
            writer.close()
    finally:
        await server.stop()


async def test_request_deadline_cuts_a_client_that_trickles_headers() -> None:
    """A client sending one header line at a time never outlives the whole-request deadline."""
    server = ProbeServer("127.0.0.1", 0, CollectorRegistry(), Readiness(), request_deadline=1.0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = asyncio.get_running_loop().time()
    closed_after = None
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\n")
        for n in range(40):  # 40 x 0.25 s: far past the deadline if never cut
            try:
                writer.write(f"X-Slow-{n}: 1\r\n".encode())
                await writer.drain()
                if await asyncio.wait_for(reader.read(1), timeout=0.25) == b"":
                    closed_after = asyncio.get_running_loop().time() - started
                    break
            except TimeoutError:
                continue
            except ConnectionError:
                closed_after = asyncio.get_running_loop().time() - started
                break
    finally:
        writer.close()
        await server.stop()
    assert closed_after is not None, "the trickling client was never disconnected"
    assert closed_after < 5


async def test_too_many_header_lines_are_refused() -> None:
    """A request with more header lines than accepted is answered 431."""
    server = ProbeServer("127.0.0.1", 0, CollectorRegistry(), Readiness())
    await server.start()
    try:
        headers = b"".join(f"X-{n}: 1\r\n".encode() for n in range(500))
        answer = await _raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\n" + headers + b"\r\n")
    finally:
        await server.stop()
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_stop_ends_every_connection_handler() -> None:
    """stop() with slow clients connected leaves no handler task for loop shutdown to cancel."""
    server = ProbeServer("127.0.0.1", 0, CollectorRegistry(), Readiness(), request_deadline=60)
    await server.start()
    held = [(await _slow_client(server.port))[1] for _ in range(5)]
    await asyncio.sleep(0.1)
    assert server.connections == 5
    await server.stop()
    handlers = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "ProbeServer._handle"
    ]
    for writer in held:
        writer.close()
    assert server.connections == 0
    assert handlers == []
