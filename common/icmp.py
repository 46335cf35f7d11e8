"""ICMP wire facts, and the helpers for reading echo replies and errors with recvmsg.

common.icmp_echo, the echo of the ping poller and of the do_ping action, reads its replies itself to get
the kernel's receive time and the reply's TTL that icmplib does not return; what it needs to know of the
bytes and of the control messages is here, free of sockets and state.
"""

from __future__ import annotations

import socket
import struct

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
"""Linux values; Python 3.11 names only some of them."""
ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
"""ICMP type numbers by IP version (ICMPv6 renumbered them)."""
ERRORS = {4: {3: "destination unreachable", 11: "time exceeded"}, 6: {1: "destination unreachable", 3: "time exceeded"}}
"""The ICMP error types that answer an echo, by IP version, and how results name them."""
_TIMESPEC = struct.Struct("@qq")
_INT = struct.Struct("@i")


def quoted_echo(quoted: bytes, version: int) -> tuple[int, int] | None:
    """(id, seq) of the echo request an ICMP error quotes (its bytes after the 8-byte ICMP header), if it quotes one."""
    offset = (quoted[0] & 0x0F) * 4 if version == 4 and quoted else 40
    if len(quoted) < offset + 8 or quoted[offset] != ECHO_REQUEST[version]:
        return None
    ident, seq = struct.unpack_from("!HH", quoted, offset + 4)
    return ident, seq


def answered(message: bytes, version: int) -> tuple[tuple[int, int], str] | None:
    """((id, seq), "") for an echo reply, ((id, seq), "time exceeded (code 0)") and the like for an ICMP error
    quoting an echo request; None for any other ICMP message (given from its ICMP header on).
    """
    if len(message) < 8:
        return None
    kind, code = message[0], message[1]
    if kind == ECHO_REPLY[version]:
        ident, seq = struct.unpack_from("!HH", message, 4)
        return (ident, seq), ""
    if kind in ERRORS[version]:
        quoted = quoted_echo(message[8:], version)
        return (quoted, f"{ERRORS[version][kind]} (code {code})") if quoted else None
    return None


def ask_for_time_and_ttl(sock: socket.socket, version: int) -> None:
    """Have the kernel attach to every datagram sock receives what receive_time_and_ttl reads."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if version == 4:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)


def receive_time_and_ttl(ancillary: list[tuple[int, int, bytes]]) -> tuple[int, int | None]:
    """(kernel receive time in ns or 0, TTL or hop limit or None) from recvmsg's control messages.

    The socket must have asked for them (ask_for_time_and_ttl).
    """
    received_ns, ttl = 0, None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanos = _TIMESPEC.unpack_from(data)
            received_ns = seconds * 1_000_000_000 + nanos
        elif (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, IPV6_HOPLIMIT)):
            ttl = _INT.unpack_from(data)[0] if len(data) >= _INT.size else data[0]
    return received_ns, ttl
