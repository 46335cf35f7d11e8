"""raw_parts: the line as received splits into head, message and tail, and comes back byte for byte the way
the syslog table's raw ALIAS rebuilds it (marks replaced by host and the RFC 3164 time of event_time)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.syslog.parse import parse
from processors.syslog.rows import HOST_MARK, STAMP_MARK, bsd_stamp, raw_parts

RECEIVED_NS = 1_764_000_000_000_000_000


def _rebuild(head: bytes, tail: bytes, whole: bool, message: str, host: str, event_us: int) -> bytes:
    """What the ALIAS computes, in Python: replaceOne of each mark, then head + message + tail."""
    if whole:
        return head
    head = head.replace(HOST_MARK, host.encode(), 1).replace(STAMP_MARK, bsd_stamp(event_us), 1)
    return head + message.encode() + tail


def _round_trip(line: bytes) -> tuple[bytes, bool]:
    p = parse(line, RECEIVED_NS, "192.0.2.1")
    event_us = p.event_time_ns // 1000
    head, tail, whole = raw_parts(line, p.message, p.host, event_us)
    return _rebuild(head, tail, whole, p.message, p.host, event_us), whole


_PIECES = st.sampled_from(
    [b"<13>", b"<189>", b"1 ", b"12: ", b"*", b"Jan  5 00:00:01 ", b"Dec 31 23:59:59 ", b"2025-06-01T10:00:00Z ",
     b"h1 ", b"h1", b"app[42]: ", b"%SYS-5-CONFIG_I: ", b"- - - ", b"[a b=\"c\"] ", b"\xef\xbb\xbf", b"\x01", b"\x02",
     b"\xff", b"\n", b"\r\n", b" ", b"\x00", b"text", b"h1 again"]
)  # fmt: skip


@settings(max_examples=500)
@given(st.lists(st.one_of(_PIECES, st.binary(max_size=8)), max_size=12))
def test_every_line_comes_back_exactly(pieces: list[bytes]) -> None:
    line = b"".join(pieces)
    assert _round_trip(line)[0] == line


def test_an_ordinary_line_keeps_only_its_header_with_host_and_time_folded() -> None:
    line = b"<13>Jan  5 00:00:01 core-sw1 sshd[42]: Accepted password for bob from 10.0.0.1 port 22 ssh2\n"
    p = parse(line, RECEIVED_NS, "192.0.2.1")
    head, tail, whole = raw_parts(line, p.message, p.host, p.event_time_ns // 1000)
    assert (head, tail, whole) == (b"<13>\x02 \x01 sshd[42]: ", b"\n", False)


def test_lines_whose_message_is_not_their_tail_are_kept_whole() -> None:
    for line in (b"<13>Jan  5 00:00:01 h app: bad \xff byte", b"<13>Jan  5 00:00:01 h app: a \x01 mark"):
        rebuilt, whole = _round_trip(line)
        assert whole and rebuilt == line
