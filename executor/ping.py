"""One ICMP echo for the do_ping action, answered with TWSNMP FK's fields.

icmplib opens the socket (raw when the process may, CAP_NET_RAW; else the kernel's unprivileged
datagram ICMP, which net.ipv4.ping_group_range must allow) and sends the request; the reply is read here
with recvmsg, because icmplib does not return the reply's TTL, which arrives as ancillary data, nor the
kernel's receive time, which keeps event-loop delays out of the RTT. One socket per call: do_ping is a
command, rare enough that sharing a socket would buy nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import struct
import time
from datetime import UTC, datetime
from typing import Any

from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPLibError, SocketPermissionError

from common.icmp import ECHO_REPLY, ERRORS, ask_for_time_and_ttl, quoted_echo, receive_time_and_ttl


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
        icmp, privileged = _open(version)
    except SocketPermissionError:
        return _result(
            "error",
            sent_ns,
            Error=f"no ICMPv{version} socket: give the executor CAP_NET_RAW, or allow unprivileged ICMP "
            "for its group (sysctl net.ipv4.ping_group_range)",
        )
    try:
        return await _echo(icmp, privileged, version, ip, size, ttl, timeout)
    finally:
        icmp.close()


def _open(version: int) -> tuple[ICMPv4Socket | ICMPv6Socket, bool]:
    kind = ICMPv4Socket if version == 4 else ICMPv6Socket
    try:
        return kind(privileged=True), True
    except SocketPermissionError:
        return kind(privileged=False), False


async def _echo(
    icmp: ICMPv4Socket | ICMPv6Socket, privileged: bool, version: int, ip: str, size: int, ttl: int, timeout: float
) -> dict[str, Any]:
    sock = icmp.sock
    sock.setblocking(False)
    ask_for_time_and_ttl(sock, version)
    if privileged:
        ident = random.getrandbits(16)
    else:  # the kernel imposes the socket's port as echo id, chosen by bind (or else only by the first send)
        sock.bind(("0.0.0.0" if version == 4 else "::", 0))
        ident = sock.getsockname()[1]
    seq = random.getrandbits(16)
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[dict[str, Any]] = loop.create_future()

    def readable() -> None:
        while not answer.done():
            try:
                packet, ancillary, _, address = sock.recvmsg(65535, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                answer.set_result(_result("error", sent_ns, Error=f"receive failed: {exc}"))
                return
            if version == 4 and privileged and packet and packet[0] >> 4 == 4:
                packet = packet[(packet[0] & 0x0F) * 4 :]  # a raw IPv4 socket hands over the IP header too
            found = _reply(packet, address[0], ancillary, version, ip, (ident, seq), sent_ns)
            if found is not None:
                answer.set_result(found)

    loop.add_reader(sock.fileno(), readable)
    try:
        sent_ns = time.time_ns()
        icmp.send(ICMPRequest(ip, ident, seq, payload_size=size, ttl=ttl))
        async with asyncio.timeout(timeout):
            return await answer
    except TimeoutError:
        return _result("timeout", sent_ns)
    except ICMPLibError as exc:
        return _result("error", sent_ns, Error=f"cannot send to {ip}: {exc}")
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sock.fileno())


def _reply(
    packet: bytes,
    source: str,
    ancillary: list[tuple[int, int, bytes]],
    version: int,
    ip: str,
    key: tuple[int, int],
    sent_ns: int,
) -> dict[str, Any] | None:
    """The result if packet answers our echo (its reply, or an ICMP error quoting it); None for anything else."""
    if len(packet) < 8:
        return None
    kind, code = packet[0], packet[1]
    received_ns, ttl = receive_time_and_ttl(ancillary)
    if kind == ECHO_REPLY[version] and struct.unpack_from("!HH", packet, 4) == key and source == ip:
        rtt = max((received_ns or time.time_ns()) - sent_ns, 1)
        return _result("ok", sent_ns, rtt_ns=rtt, Size=len(packet) - 8, TTL=ttl or 0, ResponseFrom=source)
    if kind in ERRORS[version] and quoted_echo(packet[8:], version) == key:
        error = f"{ERRORS[version][kind]} (code {code}) from {source}"
        return _result("error", sent_ns, TTL=ttl or 0, ResponseFrom=source, Error=error)
    return None


def _result(outcome: str, sent_ns: int, rtt_ns: int = 0, **fields: Any) -> dict[str, Any]:
    base = {"Size": 0, "TTL": 0, "ResponseFrom": ""}
    return {
        "Result": outcome,
        "Time": rfc3339(sent_ns),
        "RTT": go_duration(rtt_ns),
        "RTTNano": rtt_ns,
        **base,
        **fields,
    }


def rfc3339(time_ns: int) -> str:
    """UTC with microseconds and Z, as the MCP service writes times."""
    moment = datetime.fromtimestamp(time_ns // 1_000_000_000, UTC).replace(microsecond=time_ns // 1000 % 1_000_000)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


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
