"""ICMP echo probe: round-trip times, loss and the TTL of the replies.

The echoes are common.icmp_echo's, over one socket per address family for the whole poller, not one per
ping as icmplib's async_ping opens (common.icmp_echo says why that matters). This module turns a poll's
echoes into a Measurement.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Mapping

from icmplib.exceptions import ICMPLibError, SocketPermissionError

from common.icmp_echo import Echo, EchoSocket
from ingest.pollers.probe import Measurement, Unpollable, fail, int_param, ok

log = logging.getLogger("netobs.poller")

SPACING_S = 0.2
"""Time between the echoes of one poll (less when the timeout is short)."""


class Pinger:
    """The poller's ICMP sockets, opened on first use; close() at the end."""

    def __init__(self) -> None:
        self._sockets: dict[int, EchoSocket] = {}

    def _socket(self, version: int) -> EchoSocket:
        icmp = self._sockets.get(version)
        if icmp is None:
            try:
                icmp = self._sockets[version] = EchoSocket(version, shared=True)
            except SocketPermissionError:
                raise Unpollable(
                    f"no ICMPv{version} socket: run as root, or allow unprivileged ICMP "
                    "(sysctl net.ipv4.ping_group_range)"
                ) from None
            log.info(
                "ping: ICMPv%d %s socket%s",
                version,
                "raw (privileged)" if icmp.privileged else "datagram (unprivileged)",
                "" if icmp.privileged else ": the kernel chooses echo ids and ICMP errors are not seen",
            )
        return icmp

    def close(self) -> None:
        for icmp in self._sockets.values():
            icmp.close()
        self._sockets.clear()

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
        icmp = self._socket(version)
        spacing = min(SPACING_S, timeout / (2 * count))
        echoes: list[Echo] = []
        try:
            async with asyncio.timeout(timeout):
                for i in range(count):
                    if i:
                        await asyncio.sleep(spacing)
                    try:
                        echoes.append(icmp.send(ip, size, ttl))
                    except ICMPLibError as exc:
                        return fail(f"cannot send to {ip}: {exc}")
                for echo in echoes:
                    await echo.reply
        except TimeoutError:
            pass  # what has not come back by now is lost
        finally:
            for echo in echoes:
                icmp.forget(echo)
        answers = [e.reply.result() for e in echoes if e.reply.done() and not e.reply.cancelled()]
        rtts = [a.rtt_ns / 1e6 for a in answers if not a.error]
        errors = [a.error for a in answers if a.error]
        values = {"loss": round(1 - len(rtts) / count, 4), "sent": float(count), "received": float(len(rtts))}
        if not rtts:
            return fail(errors[-1] if errors else f"no echo reply from {ip} within {timeout:g}s", values)
        values.update(
            rtt_ms=round(sum(rtts) / len(rtts), 3), rtt_min_ms=round(min(rtts), 3), rtt_max_ms=round(max(rtts), 3)
        )
        last_ttl = next((a.ttl for a in reversed(answers) if not a.error and a.ttl is not None), None)
        if last_ttl is not None:
            values["ttl"] = float(last_ttl)
        return ok(values)
