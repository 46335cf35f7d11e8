"""One ICMP echo for the do_ping action, answered with TWSNMP FK's fields.

The echo is common.icmp_echo's, on a socket of the call's own: do_ping is a command, rare enough that
sharing a socket would buy nothing. This module turns its answer into the result an agent reads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

from icmplib.exceptions import ICMPLibError, SocketPermissionError

from common.icmp_echo import EchoSocket
from common.timefmt import rfc3339_ns


async def ping(ip: str, *, size: int, ttl: int, timeout: float) -> dict[str, Any]:
    """Send one echo of size payload bytes with the given TTL and wait up to timeout seconds for its reply.

    Result "ok" (a reply came), "timeout" (none came) or "error" (an ICMP error came back, or the echo could
    not be sent; "Error" says why). Time is when it was sent; Size the echo data bytes of the reply; TTL
    the reply's TTL (hop limit for IPv6), 0 if the kernel did not say.
    """
    sent_ns = time.time_ns()
    try:
        version = ipaddress.ip_address(ip).version
    except ValueError:
        return _result("error", sent_ns, Error=f"not an IP address: {ip!r}")
    try:
        icmp = EchoSocket(version, shared=False)
    except SocketPermissionError:
        return _result(
            "error",
            sent_ns,
            Error=f"no ICMPv{version} socket: give the executor CAP_NET_RAW, or allow unprivileged ICMP "
            "for its group (sysctl net.ipv4.ping_group_range)",
        )
    try:
        sent_ns = time.time_ns()
        echo = icmp.send(ip, size, ttl)
        async with asyncio.timeout(timeout):
            reply = await echo.reply
    except TimeoutError:
        return _result("timeout", sent_ns)
    except ICMPLibError as exc:
        return _result("error", sent_ns, Error=f"cannot send to {ip}: {exc}")
    finally:
        icmp.close()
    if reply.error:
        return _result("error", sent_ns, TTL=reply.ttl or 0, ResponseFrom=reply.source, Error=reply.error)
    rtt = max(reply.rtt_ns, 1)
    return _result("ok", sent_ns, rtt_ns=rtt, Size=reply.size, TTL=reply.ttl or 0, ResponseFrom=reply.source)


def _result(outcome: str, sent_ns: int, rtt_ns: int = 0, **fields: Any) -> dict[str, Any]:
    base = {"Size": 0, "TTL": 0, "ResponseFrom": ""}
    return {
        "Result": outcome,
        "Time": rfc3339_ns(sent_ns, 6),
        "RTT": go_duration(rtt_ns),
        "RTTNano": rtt_ns,
        **base,
        **fields,
    }


def go_duration(ns: int) -> str:
    """A duration as Go's time.Duration.String writes it ("0s", "850ns", "123.456µs", "1.2ms", "2.5s")."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_decimal(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_decimal(ns, 1_000_000)}ms"
    seconds, rest = divmod(ns, 1_000_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = _decimal(seconds * 1_000_000_000 + rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    return f"{sign}{minutes}m{text}" if minutes else f"{sign}{text}"


def _decimal(value: int, unit: int) -> str:
    """value / unit with every significant digit and no trailing zeros (Go's style)."""
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")
