"""The lab's far side, all on loopback: the scripted SMTP servers (aiosmtpd) that fail each
scenario's mail, the collector that receives the bounces, and a DNS responder that says NXDOMAIN
(but to the few TXT records of ``scenarios.TXT_RECORDS``).

Every server listens on the same port on its own 127.0.0.x address, so an MTA needs one port
setting and a domain -> address route per scenario (`scenarios.routes()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session

from dev.bouncelab import scenarios as sc

REMOTE_NAME = "mx.lab.test"


@dataclass(frozen=True)
class Received:
    """One message the collector accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic() on arrival


def _fill(reply: str, *, rcpt: str = "", sender: str = "", helo: str = "") -> str:
    return reply.format(rcpt=rcpt, sender=sender, helo=helo)


class _LabSMTP(SMTP):
    """aiosmtpd's server, plus a reply to the DATA command itself and a failing STARTTLS."""

    def __init__(self, handler: Any, *, offer_starttls: bool = False) -> None:
        super().__init__(handler, hostname=REMOTE_NAME, ident="ESMTP lab", data_size_limit=None)
        self.offer_starttls = offer_starttls

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if envelope is not None and envelope.rcpt_tos:
            for rcpt in envelope.rcpt_tos:
                s = sc.remote_behaviour(rcpt.split("@", 1)[0])
                if s is not None and s.stage == "DATA":
                    await self.push(_fill(s.reply, rcpt=rcpt))
                    return
        await super().smtp_DATA(arg)

    async def smtp_STARTTLS(self, arg: str) -> None:
        await self.push("454 4.7.0 TLS not available due to local problem")


def _factory(handler: object) -> Callable[[], _LabSMTP]:
    return lambda: _LabSMTP(handler)


class MainHandler:
    """The main server: the recipient's local part names the scenario to play. Bounces (null
    sender) it is handed, by an MTA that relays everything through it as its smarthost (dma),
    go to ``collector``."""

    def __init__(self, collector: CollectorHandler) -> None:
        self.collector = collector

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        s = sc.remote_behaviour(address.split("@", 1)[0])
        if s is not None and s.stage == "RCPT":
            return _fill(s.reply, rcpt=address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.mail_from in ("", "<>"):
            return await self.collector.handle_DATA(server, session, envelope)
        for rcpt in envelope.rcpt_tos:
            s = sc.remote_behaviour(rcpt.split("@", 1)[0])
            if s is not None and s.stage == "EOD":
                return _fill(s.reply, rcpt=rcpt)
        return "250 2.0.0 Ok: queued as LAB"


class DedicatedHandler:
    """A server of one scenario: rejects EHLO/HELO or MAIL, or demands STARTTLS."""

    def __init__(self, scenario: sc.Scenario) -> None:
        self.s = scenario

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        if self.s.stage == "EHLO":
            return [_fill(self.s.reply, helo=hostname)]
        session.host_name = hostname
        if self.s.stage == "STARTTLS":
            return [*responses[:-1], "250-STARTTLS", responses[-1]]
        return responses

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        if self.s.stage == "EHLO":
            return _fill(self.s.reply, helo=hostname)
        session.host_name = hostname
        return f"250 {REMOTE_NAME}"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.s.stage in ("MAIL", "STARTTLS"):
            return _fill(self.s.reply, sender=address)
        envelope.mail_from = address
        return "250 2.1.0 Ok"


class CollectorHandler:
    """Accepts every message (bounces come back here) and keeps it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from or "", tuple(envelope.rcpt_tos), bytes(data),
                         time.monotonic())
            )
        return "250 2.0.0 Ok: kept"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)


async def _banner_only(
    reply: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(reply.encode() + b"\r\n")
    with contextlib.suppress(Exception):
        await writer.drain()
        await asyncio.wait_for(reader.read(1024), 2)
    writer.close()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(reader.read(65536), 60)
    writer.close()


class _NxDomain(asyncio.DatagramProtocol):
    """Answers every query NXDOMAIN (RFC 1035 header with RCODE 3, the question echoed), except
    a TXT query for a name of ``sc.TXT_RECORDS`` (its text: a DMARC policy) and queries for a
    domain the MTAs route by hand (``sc.routes()``: MX to itself, A its loopback address, no
    other record), for an MTA that can only look its destinations up (dma)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12:
            return
        qid, flags, qdcount = struct.unpack("!HHH", data[:6])
        if flags & 0x8000:  # a response, not a query
            return
        # Echo the first question (name labels, then QTYPE/QCLASS).
        end, pos = len(data), 12
        labels: list[bytes] = []
        while pos < end and data[pos] != 0:
            labels.append(data[pos + 1 : pos + 1 + data[pos]])
            pos += 1 + data[pos]
        question = data[12 : pos + 5] if qdcount and pos + 5 <= end else b""
        rd = flags & 0x0100
        name = b".".join(labels).decode("latin-1").lower()
        qtype = struct.unpack("!H", question[-4:-2])[0] if question else 0
        answers = _records(name, qtype)
        ok = 0x8000 | 0x0400 | rd | 0x0080  # QR, AA, RD copied, RA
        if answers is None:
            header = struct.pack("!HHHHHH", qid, ok | 3, 1 if question else 0, 0, 0, 0)  # NXDOMAIN
            self.transport.sendto(header + question, addr)
            return
        # Each answer names the question's name by a pointer to offset 12 (0xC00C).
        body = b"".join(struct.pack("!HHHIH", 0xC00C, rtype, 1, 60, len(rdata)) + rdata
                        for rtype, rdata in answers)
        header = struct.pack("!HHHHHH", qid, ok, 1, len(answers), 0, 0)
        self.transport.sendto(header + question + body, addr)


def _records(name: str, qtype: int) -> list[tuple[int, bytes]] | None:
    """(type, rdata) of the answers to ``name``/``qtype``; None: the name does not exist."""
    text = sc.TXT_RECORDS.get(name)
    if text is not None and qtype == 16:
        raw = text.encode()
        return [(16, b"".join(bytes([len(raw[i : i + 255])]) + raw[i : i + 255]
                              for i in range(0, len(raw), 255)))]
    host = sc.routes().get(name)
    if host is None:
        return [] if text is not None else None
    if qtype == 15:  # MX 10 <the name itself>
        return [(15, struct.pack("!H", 10) + b"\xc0\x0c")]
    if qtype == 1:
        return [(1, socket.inet_aton(host))]
    return []  # the name exists, no record of that type


class RemoteSide:
    """Starts every far-side server on one port (and, unless ``dns=False``, the resolver on
    udp/53 of ``dns_host``) in a thread of its own; ``stop()`` closes them."""

    def __init__(self, *, dns: bool = True) -> None:
        self.dns = dns
        self.collector = CollectorHandler()
        self.port = 0
        self.dns_host = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[Any] = []

    def start(self) -> None:
        self._thread.start()
        last: Exception | None = None
        for _ in range(20):
            port = random.randint(20000, 45000)
            try:
                self._call(self._start_smtp(port))
                self.port = port
                break
            except OSError as e:
                last = e
                self._call(self._close())
        else:
            raise RuntimeError(f"no free port for the lab's servers: {last}")
        if self.dns:
            self.dns_host = self._start_resolver()

    def _start_resolver(self) -> str:
        last: Exception | None = None
        for _ in range(50):
            host = f"127.0.{random.randint(100, 250)}.53"
            try:
                self._call(self._start_dns(host))
                return host
            except OSError as e:
                last = e
        raise RuntimeError(f"no free udp/53 loopback address for the lab's resolver: {last}")

    def stop(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _start_smtp(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        main = MainHandler(self.collector)
        self._servers.append(
            await loop.create_server(_factory(main), sc.MAIN_HOST, port)
        )
        collector = self.collector
        self._servers.append(
            await loop.create_server(_factory(collector), sc.COLLECTOR_HOST, port)
        )
        for domain, host in sc.dedicated_routes().items():
            s = sc.dedicated_scenario(domain)
            if s is None or s.stage == "REFUSED":
                continue
            if s.stage == "BANNER":
                reply = s.reply

                async def banner(r: asyncio.StreamReader, w: asyncio.StreamWriter,
                                 reply: str = reply) -> None:
                    await _banner_only(reply, r, w)

                server = await asyncio.start_server(banner, host, port)
            elif s.stage == "TIMEOUT":
                server = await asyncio.start_server(_silent, host, port)
            else:
                server = await loop.create_server(_factory(DedicatedHandler(s)), host, port)
            self._servers.append(server)

    async def _start_dns(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, 53))
        except OSError:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(_NxDomain, sock=sock)
        self._servers.append(transport)

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
