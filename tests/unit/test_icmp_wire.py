"""common.icmp: the echo an ICMP error quotes and the echo a reply or error answers (bytes built here by hand,
per RFC 791/792 and RFC 8200/4443), and the receive time and TTL read from control messages the kernel itself
attached to datagrams on loopback.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest

from common.icmp import SO_TIMESTAMPNS, answered, ask_for_time_and_ttl, quoted_echo, receive_time_and_ttl


def _ipv4_header(options: bytes = b"", protocol: int = socket.IPPROTO_ICMP) -> bytes:
    words = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | words, 0, 84, 1, 0, 64, protocol, 0, bytes(4), bytes(4))
    return header + options


def _ipv6_header() -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, 64, socket.IPPROTO_ICMPV6, 64, bytes(16), bytes(16))


def _echo(kind: int, ident: int, seq: int) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"payload"


def test_the_echo_quoted_by_an_icmpv4_error_is_found_past_the_ip_header() -> None:
    assert quoted_echo(_ipv4_header() + _echo(8, 0x1234, 0xBEEF), 4) == (0x1234, 0xBEEF)
    assert quoted_echo(_ipv4_header(options=bytes(4)) + _echo(8, 1, 2), 4) == (1, 2)


def test_the_echo_quoted_by_an_icmpv6_error_is_found_past_the_fixed_header() -> None:
    assert quoted_echo(_ipv6_header() + _echo(128, 0xFFFF, 0), 6) == (0xFFFF, 0)


@pytest.mark.parametrize(
    ("quoted", "version"),
    [
        (b"", 4),
        (b"", 6),
        (_ipv4_header(), 4),
        (_ipv4_header() + _echo(8, 1, 2)[:7], 4),
        (_ipv4_header() + _echo(0, 1, 2), 4),
        (_ipv4_header(protocol=socket.IPPROTO_UDP) + struct.pack("!HHHH", 5353, 53, 8, 0), 4),
        (_ipv6_header() + _echo(8, 1, 2), 6),
        (_ipv6_header() + _echo(129, 1, 2), 6),
    ],
)
def test_anything_but_a_whole_quoted_echo_request_is_none(quoted: bytes, version: int) -> None:
    assert quoted_echo(quoted, version) is None


def test_an_echo_reply_answers_its_own_echo() -> None:
    assert answered(_echo(0, 0x1234, 0xBEEF), 4) == ((0x1234, 0xBEEF), "")
    assert answered(_echo(129, 7, 8), 6) == ((7, 8), "")


def test_an_icmp_error_answers_the_echo_it_quotes_and_says_what_it_is() -> None:
    time_exceeded = struct.pack("!BBHI", 11, 0, 0, 0) + _ipv4_header() + _echo(8, 1, 2)
    assert answered(time_exceeded, 4) == ((1, 2), "time exceeded (code 0)")
    unreachable = struct.pack("!BBHI", 1, 3, 0, 0) + _ipv6_header() + _echo(128, 3, 4)
    assert answered(unreachable, 6) == ((3, 4), "destination unreachable (code 3)")


@pytest.mark.parametrize(
    ("message", "version"),
    [
        (_echo(0, 1, 2)[:7], 4),
        (_echo(8, 1, 2), 4),
        (_echo(0, 1, 2), 6),
        (struct.pack("!BBHI", 3, 1, 0, 0) + _ipv4_header() + _echo(0, 1, 2), 4),
        (struct.pack("!BBHI", 5, 0, 0, 0) + _ipv4_header() + _echo(8, 1, 2), 4),
    ],
)
def test_anything_else_answers_no_echo(message: bytes, version: int) -> None:
    assert answered(message, version) is None


@pytest.mark.parametrize(
    ("version", "family", "host", "level", "send_ttl"),
    [
        (4, socket.AF_INET, "127.0.0.1", socket.IPPROTO_IP, socket.IP_TTL),
        (6, socket.AF_INET6, "::1", socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS),
    ],
)
def test_the_kernel_attaches_receive_time_and_ttl_once_asked(
    version: int, family: int, host: str, level: int, send_ttl: int
) -> None:
    with socket.socket(family, socket.SOCK_DGRAM) as receiver, socket.socket(family, socket.SOCK_DGRAM) as sender:
        receiver.bind((host, 0))  # the kernel picks a free port
        ask_for_time_and_ttl(receiver, version)
        sender.setsockopt(level, send_ttl, 42)
        before = time.time_ns()
        sender.sendto(b"x", receiver.getsockname())
        _, ancillary, _, _ = receiver.recvmsg(16, 256)
        after = time.time_ns()
    received_ns, ttl = receive_time_and_ttl(ancillary)
    assert ttl == 42
    assert before <= received_ns <= after


def test_without_control_messages_neither_is_known() -> None:
    assert receive_time_and_ttl([]) == (0, None)
    assert receive_time_and_ttl([(socket.SOL_SOCKET, SO_TIMESTAMPNS, b"\x01")]) == (0, None)


def test_a_one_byte_ttl_is_read_too() -> None:
    assert receive_time_and_ttl([(socket.IPPROTO_IP, socket.IP_TTL, bytes([7]))]) == (0, 7)
