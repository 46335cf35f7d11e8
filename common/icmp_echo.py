"""ICMP echo with the kernel's receive time and the reply's TTL, for the ping poller and the do_ping action.

icmplib opens the socket (privileged raw when the process may, CAP_NET_RAW; else the kernel's unprivileged
datagram ICMP, which net.ipv4.ping_group_range must allow) and builds and sends the requests. Replies are
read here with recvmsg, which also yields the kernel's receive timestamp (RTTs that event-loop delays do not
inflate) and the reply's TTL, neither of which icmplib returns.

One EchoSocket serves any number of echoes in flight: its reader settles the echo each packet answers. The
poller shares one per address family, because every raw ICMP socket receives a copy of every ICMP packet,
so hundreds of concurrent pings each with its own socket cost O(n^2) wake-ups and lost half their replies
(2000 targets, 256 at a time); do_ping, a rare command, opens one per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import socket
import time
from dataclasses import dataclass

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from common.icmp import answered, ask_for_time_and_ttl, receive_time_and_ttl

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 4 * 1024 * 1024
"""A shared socket's: replies to a burst of pings wait here while the event loop is busy."""


@dataclass(frozen=True)
class Reply:
    """What answered an echo: its reply, or an error (an ICMP error quoting it, or a failed receive)."""

    rtt_ns: int
    """From the send to the kernel's receive time; 0 for an error."""
    ttl: int | None
    """The reply's (or ICMP error's) TTL or hop limit, if the kernel said."""
    size: int
    """Echo data bytes of the reply."""
    source: str
    error: str = ""


@dataclass(frozen=True)
class Echo:
    """One request in flight: its (id, seq), where it went, when, and the future its answer settles."""

    key: tuple[int, int]
    destination: str
    sent_ns: int
    reply: asyncio.Future[Reply]


class EchoSocket:
    """One ICMP socket of one IP version, its reader on the running loop, and the echoes waiting for answers.

    shared: the socket serves many callers at once. It gets a large receive buffer, and a receive error
    (a raw socket's pending error can come from an ICMP error about anyone's ICMP packet) is logged and
    reading goes on, since it belongs to no echo in particular. A socket of one caller instead answers its
    waiting echoes with it.
    """

    def __init__(self, version: int, *, shared: bool) -> None:
        """Open the socket, raw if the process may, else datagram; SocketPermissionError if neither."""
        kind = ICMPv4Socket if version == 4 else ICMPv6Socket
        try:
            self.icmp, self.privileged = kind(privileged=True), True
        except SocketPermissionError:
            self.icmp, self.privileged = kind(privileged=False), False
        self.version, self.shared = version, shared
        self.loop = asyncio.get_running_loop()
        self.waiting: dict[tuple[int, int], Echo] = {}
        try:
            sock = self.icmp.sock
            sock.setblocking(False)
            if shared:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            ask_for_time_and_ttl(sock, version)
            if not self.privileged:
                sock.bind(("0.0.0.0" if version == 4 else "::", 0))  # the port (echo id) exists once bound
            self.loop.add_reader(sock.fileno(), self._readable)
        except Exception:
            self.icmp.close()
            raise
        self.ident = random.getrandbits(16) if self.privileged else sock.getsockname()[1]
        """Echo identifier: ours when privileged; the kernel imposes the socket's port otherwise."""
        self._counter = itertools.count(random.getrandbits(16))

    def send(self, destination: str, size: int, ttl: int) -> Echo:
        """Send an echo of size data bytes with the given TTL; ICMPLibError if it cannot be sent."""
        n = next(self._counter)
        ident = (self.ident + (n >> 16)) & 0xFFFF if self.privileged else self.ident
        key = (ident, n & 0xFFFF)
        echo = Echo(key, destination, time.time_ns(), self.loop.create_future())
        self.waiting[key] = echo
        try:
            self.icmp.send(ICMPRequest(destination, *key, payload=_payload(size) or None, payload_size=size, ttl=ttl))
        except ICMPLibError:
            del self.waiting[key]
            raise
        return echo

    def forget(self, echo: Echo) -> None:
        """Stop waiting for echo: whatever answers it later is dropped."""
        self.waiting.pop(echo.key, None)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.icmp.sock.fileno())
        self.icmp.close()
        for echo in self.waiting.values():
            echo.reply.cancel()
        self.waiting.clear()

    def _readable(self) -> None:
        """Read every packet queued on the socket; a bad packet is skipped, never raised into the loop."""
        sock = self.icmp.sock
        while True:
            try:
                packet, ancillary, _, address = sock.recvmsg(65535, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if self.shared:
                    log.debug("ping: receive failed: %s", exc)
                else:
                    for echo in list(self.waiting.values()):
                        _answer(echo, Reply(0, None, 0, "", f"receive failed: {exc}"))
                return
            received_ns, ttl = receive_time_and_ttl(ancillary)
            self._settle(packet, address[0], received_ns or time.time_ns(), ttl)

    def _settle(self, packet: bytes, source: str, received_ns: int, ttl: int | None) -> None:
        if self.version == 4 and self.privileged and packet and packet[0] >> 4 == 4:
            packet = packet[(packet[0] & 0x0F) * 4 :]  # a raw IPv4 socket hands over the IP header too
        found = answered(packet, self.version)
        if found is None:
            return
        key, error = found
        echo = self.waiting.get(key)
        if echo is None:
            return
        if error:
            _answer(echo, Reply(0, ttl, 0, source, f"{error} from {source}"))
        elif echo.destination == source:
            _answer(echo, Reply(received_ns - echo.sent_ns, ttl, len(packet) - 8, source))


def _answer(echo: Echo, reply: Reply) -> None:
    if not echo.reply.done():
        echo.reply.set_result(reply)


@functools.cache
def _payload(size: int) -> bytes:
    """A fixed payload per size: icmplib's random one costs more CPU than the rest of a ping."""
    return bytes(i & 0xFF for i in range(size))
