"""The SNMP trap socket: a thread in a blocking recvfrom_into loop, handing datagrams to the event loop in runs.

Same shape as the UDP syslog receiver (ingest.udp) and for the same reason: a callback per datagram
(asyncio DatagramProtocol) costs far more than the decoding. Unlike syslog, a datagram is kept byte
for byte (BER may end in a newline byte) and with its sender's port, which informs are answered to.
Decoding happens on the event loop (ingest.traps.service), so the pysnmp engine and the counters are
only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable

from ingest.udp import ReceiverThread, open_socket

log = logging.getLogger("netobs.ingest")

Datagram = tuple[int, bytes, tuple[str, int]]
"""(received_ns, bytes, (sender address, sender port)) as the socket gave them; replies go to that address."""
Deliver = Callable[[list[Datagram]], None]
"""Called on the event loop thread with a run of datagrams in receive order."""

RCVBUF_BYTES = 16 * 1024 * 1024
MAX_DATAGRAM = 65535
HANDOFF_DATAGRAMS = 1024
HANDOFF_MS = 10
SEND_TIMEOUT = 0.2
"""A reply (inform Response, v3 Report) never holds the event loop longer than this."""


def open_trap_socket(bind: str, port: int, rcvbuf: int = RCVBUF_BYTES) -> socket.socket:
    """A bound UDP socket with a large receive buffer, a kernel receive timeout and a short send timeout."""
    sock = open_socket(bind, port, rcvbuf)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, int(SEND_TIMEOUT * 1_000_000)))
    return sock


def send_reply(sock: socket.socket, data: bytes, address: tuple[str, int]) -> bool:
    """Send a reply from the trap socket (senders match replies by port); False if the kernel refused it."""
    try:
        sock.sendto(data, address)
    except OSError as exc:
        log.warning("snmp reply to %s:%d not sent: %s", address[0], address[1], exc)
        return False
    return True


class TrapReceiver(ReceiverThread):
    """Owns the trap receiving thread; start() and stop() from the event loop, then close() the socket."""

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        on_dropped: Callable[[int], None],
        max_backlog: int,
        handoff_datagrams: int = HANDOFF_DATAGRAMS,
        handoff_ms: int = HANDOFF_MS,
    ) -> None:
        super().__init__(sock, loop, on_dropped, max_backlog, handoff_ms, "snmp-traps")
        self._deliver = deliver
        self._handoff = handoff_datagrams

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; runs it handed over still reach the loop. The socket stays open for replies."""
        await self._join(timeout)
        await asyncio.sleep(0)

    def close(self) -> None:
        self.kernel_dropped()
        self.sock.close()

    def _receive(self) -> None:
        """The hot loop: a receive, a clock read and an append per datagram."""
        recv = self.sock.recvfrom_into
        buf = bytearray(MAX_DATAGRAM)
        view = memoryview(buf)
        now = time.time_ns
        stopping = self._stopping.is_set
        handoff = self._handoff
        handoff_ns = self._handoff_ns
        run: list[Datagram] = []
        deadline = 0
        while True:
            try:
                n, address = recv(buf)
            except BlockingIOError:
                if run:
                    self._hand_off(run)
                    run = []
                if stopping():
                    return
                continue
            except OSError:
                if stopping():
                    return
                raise
            received = now()
            run.append((received, view[:n].tobytes(), address[:2]))
            if len(run) >= handoff or received >= deadline:
                self._hand_off(run)
                run = []
                deadline = received + handoff_ns
                if stopping():
                    return

    def _hand_off(self, run: list[Datagram]) -> None:
        if self._admit(len(run)):
            self._loop.call_soon_threadsafe(self._take, run, self._unreported())

    def _take(self, run: list[Datagram], dropped: int) -> None:
        """On the loop: pass a run on."""
        self._taken(len(run), dropped)
        self._deliver(run)
