"""The TCP and TLS (RFC 5425) syslog receivers, on asyncio streams with a splitter per connection.

TCP has flow control, so unlike UDP a full Kafka queue pauses reading (the sender keeps its data)
instead of dropping lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable

from ingest.counters import TransportCounters
from ingest.syslog.admission import Limits, Peer, Verdict, admit, expired
from ingest.syslog.framing import Splitter
from ingest.udp import source_of

log = logging.getLogger("netobs.ingest")

Deliver = Callable[[str, list[int], list[bytes], list[int] | None], None]
"""(source, received_ns, lines, flags), as for UDP."""

READ_BYTES = 1024 * 1024
"""One read takes whatever is buffered up to this; large reads keep the per-line cost in C."""


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A TLS server context for RFC 5425: TLS 1.2 at least, no client certificate asked for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def plain_source(peer: tuple[str, int] | tuple[str, int, int, int] | None) -> str:
    """The sender's address; IPv4 on a dual-stack socket arrives as ::ffff:a.b.c.d."""
    return source_of(peer[0]) if peer else ""


SWEEP_SECONDS = 1.0
"""How often timed-out connections are looked for; timeouts are that much late at most."""


class StreamReceiver:
    """One listening TCP or TLS socket and its connections, admitted and timed out by admission.Limits."""

    def __init__(
        self,
        transport: str,
        deliver: Deliver,
        room: Callable[[], Awaitable[None]],
        counters: TransportCounters,
        max_line: int,
        limits: Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.transport = transport
        self._deliver = deliver
        self._room = room
        self._counters = counters
        self._max_line = max_line
        self._limits = limits
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._connections: dict[asyncio.Task[None], tuple[asyncio.StreamWriter, Peer]] = {}

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def start(self, bind: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._connection, bind, port, ssl=self._ssl, limit=READ_BYTES, backlog=1024
        )
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self, timeout: float) -> None:
        """Stop listening and close every connection; what they had buffered is delivered first."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for writer, _ in self._connections.values():
            writer.close()
        tasks = list(self._connections)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counters = self._counters
        source = plain_source(writer.get_extra_info("peername"))
        now = time.monotonic()
        verdict, victim = admit((peer for _, peer in self._connections.values()), source, now, self._limits)
        if verdict in (Verdict.FULL, Verdict.PER_SOURCE):
            if verdict is Verdict.FULL:
                counters.rejected += 1
            else:
                counters.rejected_per_source += 1
            writer.transport.abort()
            return
        if victim is not None:
            counters.evicted += 1
            self._close_peer(victim, "evicted for a new connection")
        task = asyncio.current_task()
        assert task is not None
        peer = Peer(source, now)
        self._connections[task] = (writer, peer)
        counters.connections += 1
        splitter = Splitter(self._max_line)
        try:
            while True:
                peer.paused = True
                await self._room()
                peer.resume(time.monotonic())
                data = await reader.read(READ_BYTES)
                if not data:
                    break
                received = time.time_ns()
                lines, flags = splitter.feed(data)
                peer.read(time.monotonic(), len(lines), splitter.holds_partial)
                if lines:
                    self._deliver(source, [received] * len(lines), lines, flags)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.debug("syslog %s connection from %s ended: %r", self.transport, source, exc)
        finally:
            lines, flags = splitter.close()
            if lines:
                self._deliver(source, [time.time_ns()] * len(lines), lines, flags)
            counters.connections -= 1
            self._connections.pop(task, None)
            writer.close()

    async def _sweep(self) -> None:
        """Close connections whose frame stayed incomplete, or that stayed silent, too long."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            for _, peer in list(self._connections.values()):
                why = expired(peer, now, self._limits)
                if why == "partial":
                    self._counters.closed_partial += 1
                    self._close_peer(peer, f"a frame stayed incomplete for {self._limits.partial_timeout:g} s")
                elif why == "idle":
                    self._counters.closed_idle += 1
                    self._close_peer(peer, f"silent for {self._limits.idle_timeout:g} s")

    def _close_peer(self, peer: Peer, why: str) -> None:
        """Close a connection; its reader sees the end, and what it had buffered is delivered, flagged TRUNCATED."""
        for task, (writer, candidate) in list(self._connections.items()):
            if candidate is peer:
                log.debug("syslog %s connection from %s closed: %s", self.transport, peer.source, why)
                del self._connections[task]
                writer.transport.abort()
                return
