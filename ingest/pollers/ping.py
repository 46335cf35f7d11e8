"""ICMP echo probe: round-trip times, loss and the TTL of the replies.

One ICMP socket per address family for the whole poller, not one per ping as icmplib's async_ping opens:
every raw ICMP socket receives a copy of every ICMP packet, so hundreds of concurrent pings each with its
own socket cost O(n^2) wake-ups and lost half their replies here (2000 targets, 256 at a time). icmplib
still opens the socket (privileged raw, else the kernel's unprivileged datagram ICMP) and builds and sends
the requests; replies are read here with recvmsg, which also yields the kernel's receive timestamp (RTTs
that event-loop delays do not inflate) and the reply's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import itertools
import logging
import random
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from common.icmp import ECHO_REPLY, ERRORS, ask_for_time_and_ttl, quoted_echo, receive_time_and_ttl
from ingest.pollers.probe import Measurement, Unpollable, fail, int_param, ok

log = logging.getLogger("netobs.poller")

RECEIVE_BUFFER = 4 * 1024 * 1024
"""Replies to a burst of pings wait here while the event loop is busy."""
SPACING_S = 0.2
"""Time between the echoes of one poll (less when the timeout is short)."""


@dataclass
class _Echo:
    """One request in flight: where it went, when, and the future its reply settles."""

    destination: str
    sent_ns: int
    reply: asyncio.Future[tuple[float, int | None, str]]
    """(rtt ms, reply TTL if known, error text if an ICMP error came back instead)."""


class _Channel:
    """One ICMP socket of one family, its reader, and the requests waiting for replies."""

    def __init__(self, version: int, loop: asyncio.AbstractEventLoop) -> None:
        self.version = version
        self.loop = loop
        kind = ICMPv4Socket if version == 4 else ICMPv6Socket
        try:
            self.icmp = kind(privileged=True)
            self.privileged = True
        except SocketPermissionError:
            try:
                self.icmp = kind(privileged=False)
            except SocketPermissionError:
                raise Unpollable(
                    f"no ICMPv{version} socket: run as root, or allow unprivileged ICMP "
                    "(sysctl net.ipv4.ping_group_range)"
                ) from None
            self.privileged = False
        sock = self.icmp.sock
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        ask_for_time_and_ttl(sock, version)
        if not self.privileged:
            sock.bind(("0.0.0.0" if version == 4 else "::", 0))  # the port (echo id) exists once bound
        self.ident = random.getrandbits(16) if self.privileged else sock.getsockname()[1]
        """Echo identifier: ours when privileged; the kernel imposes the socket's port otherwise."""
        self._counter = itertools.count(random.getrandbits(16))
        self.waiting: dict[tuple[int, int], _Echo] = {}
        loop.add_reader(sock.fileno(), self._readable)
        log.info(
            "ping: ICMPv%d %s socket%s",
            version,
            "raw (privileged)" if self.privileged else "datagram (unprivileged)",
            "" if self.privileged else ": the kernel chooses echo ids and ICMP errors are not seen",
        )

    def send(self, destination: str, size: int, ttl: int) -> tuple[tuple[int, int], _Echo]:
        n = next(self._counter)
        ident = (self.ident + (n >> 16)) & 0xFFFF if self.privileged else self.ident
        key = (ident, n & 0xFFFF)
        echo = _Echo(destination, time.time_ns(), self.loop.create_future())
        self.waiting[key] = echo
        try:
            self.icmp.send(
                ICMPRequest(destination, ident, key[1], payload=_payload(size) or None, payload_size=size, ttl=ttl)
            )
        except ICMPLibError:
            del self.waiting[key]
            raise
        return key, echo

    def forget(self, key: tuple[int, int]) -> None:
        self.waiting.pop(key, None)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.icmp.sock.fileno())
        self.icmp.close()
        for echo in self.waiting.values():
            echo.reply.cancel()
        self.waiting.clear()

    def _readable(self) -> None:
        """Read every reply queued on the socket; a bad packet is skipped, never raised into the loop."""
        sock = self.icmp.sock
        while True:
            try:
                packet, ancillary, _, address = sock.recvmsg(65535, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("ping: receive failed: %s", exc)
                return
            received_ns, ttl = receive_time_and_ttl(ancillary)
            self._settle(packet, address[0], received_ns or time.time_ns(), ttl)

    def _settle(self, packet: bytes, source: str, received_ns: int, ttl: int | None) -> None:
        if self.version == 4 and self.privileged and packet and packet[0] >> 4 == 4:
            packet = packet[(packet[0] & 0x0F) * 4 :]
        if len(packet) < 8:
            return
        kind, code = packet[0], packet[1]
        if kind == ECHO_REPLY[self.version]:
            key = struct.unpack_from("!HH", packet, 4)
            echo = self.waiting.get(key)
            if echo is not None and echo.destination == source and not echo.reply.done():
                echo.reply.set_result(((received_ns - echo.sent_ns) / 1e6, ttl, ""))
        elif kind in ERRORS[self.version]:
            key = quoted_echo(packet[8:], self.version)
            echo = self.waiting.get(key) if key else None
            if echo is not None and not echo.reply.done():
                echo.reply.set_result((0.0, None, f"{ERRORS[self.version][kind]} (code {code}) from {source}"))


@functools.cache
def _payload(size: int) -> bytes:
    """A fixed payload per size: icmplib's random one costs more CPU than the rest of a ping."""
    return bytes(i & 0xFF for i in range(size))


class Pinger:
    """The poller's ICMP sockets, opened on first use; close() at the end."""

    def __init__(self) -> None:
        self._channels: dict[int, _Channel] = {}

    def _channel(self, version: int) -> _Channel:
        channel = self._channels.get(version)
        if channel is None:
            channel = self._channels[version] = _Channel(version, asyncio.get_running_loop())
        return channel

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    async def probe(self, ip: str, params: Mapping[str, str], timeout: float) -> Measurement:
        """count echoes (params count 3, size 56 payload bytes, ttl 64) within timeout seconds in all.

        values: rtt_ms (average), rtt_min_ms, rtt_max_ms, loss (0-1), ttl (of the last reply), sent,
        received. ok when any reply came back.
        """
        count = int_param(params, "count", 3, 1, 100)
        size = int_param(params, "size", 56, 0, 65000)
        ttl = int_param(params, "ttl", 64, 1, 255)
        try:
            version = ipaddress.ip_address(ip).version
        except ValueError:
            raise Unpollable(f"node address {ip!r} is not an IP address") from None
        channel = self._channel(version)
        spacing = min(SPACING_S, timeout / (2 * count))
        keys: list[tuple[int, int]] = []
        replies: list[asyncio.Future[tuple[float, int | None, str]]] = []
        try:
            async with asyncio.timeout(timeout):
                for i in range(count):
                    if i:
                        await asyncio.sleep(spacing)
                    try:
                        key, echo = channel.send(ip, size, ttl)
                    except ICMPLibError as exc:
                        return fail(f"cannot send to {ip}: {exc}")
                    keys.append(key)
                    replies.append(echo.reply)
                for reply in replies:
                    await reply
        except TimeoutError:
            pass  # what has not come back by now is lost
        finally:
            for key in keys:
                channel.forget(key)
        answers = [r.result() for r in replies if r.done() and not r.cancelled()]
        rtts = [rtt for rtt, _, error in answers if not error]
        errors = [error for _, _, error in answers if error]
        values = {"loss": round(1 - len(rtts) / count, 4), "sent": float(count), "received": float(len(rtts))}
        if not rtts:
            return fail(errors[-1] if errors else f"no echo reply from {ip} within {timeout:g}s", values)
        values.update(
            rtt_ms=round(sum(rtts) / len(rtts), 3), rtt_min_ms=round(min(rtts), 3), rtt_max_ms=round(max(rtts), 3)
        )
        last_ttl = next((t for _, t, error in reversed(answers) if not error and t is not None), None)
        if last_ttl is not None:
            values["ttl"] = float(last_ttl)
        return ok(values)
