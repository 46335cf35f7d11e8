"""The UDP syslog receiver: a thread in a blocking recvfrom_into loop, handing lines over in runs.

Measured here, an asyncio DatagramProtocol (a callback per datagram) reached ~33k msg/s and a bare
blocking recv loop ~225k/s, so the loop does as little as possible per datagram: a receive, a clock
read, two list appends. Lines are grouped by sender in the thread, so the event loop gets one hand-off
per few thousand datagrams and does its per-line work with list slicing.

One datagram is one message, as rsyslog treats it: a single trailing LF is framing and is removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from schemas.raw_syslog import LineFlag

log = logging.getLogger("netobs.ingest")

Deliver = Callable[[str, list[int], list[bytes], list[int] | None], None]
"""(source, received_ns, lines, flags or None for all zero), called on the event loop thread."""

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF_BYTES = 32 * 1024 * 1024
"""Absorbs bursts while the thread waits for the GIL; ~40k small datagrams at the kernel's accounting."""
MAX_DATAGRAM = 65535
POLL_SECONDS = 0.05
"""Kernel receive timeout (SO_RCVTIMEO): how often an idle thread hands off and looks for stop."""
HANDOFF_LINES = 2048
HANDOFF_MS = 20
_OVERSIZED = int(LineFlag.OVERSIZED)


def open_socket(bind: str, port: int, rcvbuf: int = RCVBUF_BYTES) -> socket.socket:
    """A bound UDP socket with a large receive buffer and a kernel receive timeout.

    SO_RCVBUFFORCE (root) passes net.core.rmem_max; otherwise the buffer is what the sysctl allows.
    The timeout is a socket option rather than settimeout(), which would add a poll() per datagram.
    """
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if granted < rcvbuf:
            log.warning(
                "syslog udp receive buffer is %d bytes, wanted %d: raise net.core.rmem_max to absorb bursts",
                granted,
                rcvbuf,
            )
        seconds = int(POLL_SECONDS)
        sock.setsockopt(
            socket.SOL_SOCKET,
            socket.SO_RCVTIMEO,
            struct.pack("ll", seconds, int((POLL_SECONDS - seconds) * 1_000_000)),
        )
        sock.bind((bind, port))
    except BaseException:
        sock.close()
        raise
    return sock


def kernel_drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped for this socket (buffer full), from /proc/net/udp; None if unknown."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    table = "/proc/net/udp6" if sock.family == socket.AF_INET6 else "/proc/net/udp"
    try:
        rows = Path(table).read_text().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if len(fields) > 12 and fields[9] == inode:
            return int(fields[12])
    return None


def source_of(host: str) -> str:
    """The sender address to record: IPv4 senders on a dual-stack socket appear as ::ffff:a.b.c.d."""
    return host[7:] if host.startswith("::ffff:") and "." in host else host


class ReceiverThread:
    """A UDP socket read by one thread that hands runs to the event loop: the life cycle and the backlog
    accounting the syslog and trap receivers share. A subclass writes _receive (the hot loop) and its
    hand-off; start() and stop() are called from the event loop.
    """

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        on_dropped: Callable[[int], None],
        max_backlog: int,
        handoff_ms: int,
        name: str,
    ) -> None:
        self.sock = sock
        self._loop = loop
        self._on_dropped = on_dropped
        self._max_backlog = max_backlog
        self._handoff_ns = handoff_ms * 1_000_000
        self._name = name
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._handed = 0
        """Items (lines, datagrams) handed to the loop (written by the thread only)."""
        self._consumed = 0
        """Items the loop has taken (written by the loop only)."""
        self._dropped = 0
        """Items dropped in the thread because the loop is too far behind, not yet reported (thread only)."""
        self._kernel_dropped = 0

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def start(self) -> None:
        self._thread.start()

    def kernel_dropped(self) -> int:
        """Datagrams the kernel dropped on this socket so far (the last value seen once it is closed)."""
        if self.sock.fileno() != -1:
            self._kernel_dropped = kernel_drops(self.sock) or self._kernel_dropped
        return self._kernel_dropped

    async def _join(self, timeout: float) -> None:
        """Stop the thread (it notices within the socket's receive timeout); runs handed over still reach the loop."""
        self._stopping.set()
        await asyncio.to_thread(self._thread.join, timeout)
        if self._thread.is_alive():
            log.warning("%s thread did not stop within %.1fs", self._name, timeout)

    def _run(self) -> None:
        try:
            self._receive()
        except Exception:
            log.exception("%s receiver failed; nothing more is received on this socket", self._name)
        finally:
            if self._dropped:
                self._loop.call_soon_threadsafe(self._on_dropped, self._unreported())

    def _receive(self) -> None:
        raise NotImplementedError

    def _admit(self, count: int) -> bool:
        """Whether the loop may get count more items; if it is that far behind, they are dropped."""
        if self._handed - self._consumed + count > self._max_backlog:
            self._dropped += count
            return False
        self._handed += count
        return True

    def _unreported(self) -> int:
        dropped, self._dropped = self._dropped, 0
        return dropped

    def _taken(self, count: int, dropped: int) -> None:
        """On the loop: count items arrived; report what the thread dropped before them."""
        self._consumed += count
        if dropped:
            self._on_dropped(dropped)


class UdpReceiver(ReceiverThread):
    """Owns the socket and the syslog receiving thread."""

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        on_dropped: Callable[[int], None],
        max_line: int,
        max_backlog: int,
        handoff_lines: int = HANDOFF_LINES,
        handoff_ms: int = HANDOFF_MS,
    ) -> None:
        super().__init__(sock, loop, on_dropped, max_backlog, handoff_ms, "syslog-udp")
        self._deliver = deliver
        self._max_line = max_line
        self._handoff_lines = handoff_lines

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the socket; pending runs reach the loop."""
        await self._join(timeout)
        self.kernel_dropped()
        self.sock.close()

    def _receive(self) -> None:
        """The hot loop. Per sender, a flat list alternating receive time and line."""
        recv = self.sock.recvfrom_into
        buf = bytearray(MAX_DATAGRAM)
        view = memoryview(buf)
        now = time.time_ns
        stopping = self._stopping.is_set
        max_line = self._max_line
        handoff_lines = self._handoff_lines
        handoff_ns = self._handoff_ns
        groups: dict[str, list[int | bytes]] = {}
        count = 0
        deadline = 0
        while True:
            try:
                n, address = recv(buf)
            except BlockingIOError:
                if count:
                    self._hand_off(groups, count)
                    groups, count = {}, 0
                if stopping():
                    return
                continue
            except OSError:
                if stopping():
                    return
                raise
            received = now()
            if n and buf[n - 1] == 10:
                n -= 1
            if n > max_line:
                if count:
                    self._hand_off(groups, count)
                    groups, count = {}, 0
                self._hand_off_oversized(address[0], received, view[:n].tobytes())
                continue
            group = groups.get(address[0])
            if group is None:
                group = groups[address[0]] = []
            group.append(received)
            group.append(view[:n].tobytes())
            count += 1
            if count >= handoff_lines or received >= deadline:
                self._hand_off(groups, count)
                groups, count = {}, 0
                deadline = received + handoff_ns
                if stopping():
                    return

    def _hand_off(self, groups: dict[str, list[int | bytes]], count: int) -> None:
        if self._admit(count):
            self._loop.call_soon_threadsafe(self._take, groups, count, self._unreported())

    def _hand_off_oversized(self, source: str, received: int, datagram: bytes) -> None:
        """A datagram above the line limit becomes pieces of the limit, each flagged OVERSIZED."""
        limit = self._max_line
        pieces = [datagram[i : i + limit] for i in range(0, len(datagram), limit)]
        if self._admit(len(pieces)):
            self._loop.call_soon_threadsafe(self._take_oversized, source, received, pieces, self._unreported())

    def _take(self, groups: dict[str, list[int | bytes]], count: int, dropped: int) -> None:
        """On the loop: deliver a run, one call per sender."""
        self._taken(count, dropped)
        for source, group in groups.items():
            self._deliver(source_of(source), group[0::2], group[1::2], None)  # type: ignore[arg-type]

    def _take_oversized(self, source: str, received: int, pieces: list[bytes], dropped: int) -> None:
        self._taken(len(pieces), dropped)
        self._deliver(source_of(source), [received] * len(pieces), pieces, [_OVERSIZED] * len(pieces))
