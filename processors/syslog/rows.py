"""Raw syslog records -> columns of the syslog table. Pure: parsing and mining, no I/O.

Built column by column, by name: the insert is columnar anyway, so no row tuples are made and taken apart
again, and the column order is schemas.tables.SYSLOG_COLUMNS' alone.

The line as received is not stored twice: raw_parts keeps only what it has around its message (see
schemas/sql/0008_syslog_storage.sql, whose raw ALIAS rebuilds it byte for byte).

A record that cannot be decoded (a poison message) still becomes one row, flagged, with its bytes as the
raw line: nothing read from the topic is dropped, and the partition moves on.
"""

from __future__ import annotations

import functools
import time
from operator import attrgetter
from typing import Any

from processors.syslog.miner import Miner
from processors.syslog.parse import ParsedLine, mining_text, parse
from schemas import raw_syslog
from schemas.raw_syslog import LineFlag

UNDECODABLE = "undecodable raw syslog record"

HOST_MARK = b"\x01"
STAMP_MARK = b"\x02"
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
_STRIP = b" \t\r\n\x00"

Columns = dict[str, list[Any]]
"""Values of syslog rows by column name, every list as long as the others."""

_AS_PARSED = (
    "host",
    "facility",
    "severity",
    "level",
    "type",
    "tag",
    "pid",
    "msgid",
    "structured_data",
    "message",
    "parse_error",
    "compliance",
)
"""Columns that are the ParsedLine field of the same name, as it is."""


def record_columns(value: bytes, partition: int, offset: int, record_ns: int, miner: Miner) -> Columns:
    """The rows of one Kafka record of the raw syslog topic, column by column; record_ns is the record's
    Kafka timestamp."""
    try:
        batch = raw_syslog.decode(value)
    except ValueError:
        return _undecodable(value, partition, offset, record_ns, miner)
    received = batch.received_ns
    parsed = list(map(parse, batch.lines, received, batch.sources))
    add = miner.add
    n = len(parsed)
    return {
        "received_at": [ns // 1000 for ns in received],
        "event_time": [p.event_time_ns // 1000 for p in parsed],
        "source": batch.sources,
        "transport": [batch.transport] * n,
        **{name: list(map(attrgetter(name), parsed)) for name in _AS_PARSED},
        "parse_issues": [list(p.parse_issues) for p in parsed],
        "template_id": [add(mining_text(p), ns) for p, ns in zip(parsed, received, strict=True)],
        "ingest_flags": batch.flags,
        **_raw_columns(batch.lines, parsed),
        "kafka_partition": [partition] * n,
        "kafka_offset": [offset] * n,
        "line_no": list(range(n)),
    }


def _undecodable(value: bytes, partition: int, offset: int, record_ns: int, miner: Miner) -> Columns:
    p = parse(b"", record_ns, "")
    us = record_ns // 1000
    return {
        "received_at": [us],
        "event_time": [us],
        "source": [""],
        "transport": ["unknown"],
        "host": [""],
        "facility": [p.facility],
        "severity": [p.severity],
        "level": [p.level],
        "type": [p.type],
        "tag": [""],
        "pid": [""],
        "msgid": [""],
        "structured_data": [""],
        "message": [UNDECODABLE],
        "template_id": [miner.add(UNDECODABLE, record_ns)],
        "parse_error": [True],
        "compliance": [p.compliance],
        "parse_issues": [["undecodable-record"]],
        "ingest_flags": [int(LineFlag.FRAMING)],
        "raw_head": [value],
        "raw_tail": [b""],
        "raw_whole": [True],
        "kafka_partition": [partition],
        "kafka_offset": [offset],
        "line_no": [0],
    }


def raw_parts(raw: bytes, message: str, host: str, event_us: int) -> tuple[bytes, bytes, bool]:
    """(raw_head, raw_tail, raw_whole): the line as received without its message, which the message column
    already holds, so the line is not stored twice.

    raw == head + message + tail once the head's HOST_MARK is replaced by host and its STAMP_MARK by the RFC
    3164 timestamp of event_time (the first occurrence of each is folded: they compress to nothing, and come
    back from their columns). When the message is not the line's tail as received (bytes that are not UTF-8)
    or the line holds a mark byte itself, the head is the whole line and raw_whole is set.
    """
    body = message.encode()
    kept = raw.rstrip(_STRIP)
    if not kept.endswith(body) or HOST_MARK in raw or STAMP_MARK in raw:
        return raw, b"", True
    head = kept[: len(kept) - len(body)]
    if event_us >= 0:
        head = head.replace(_second_stamp(event_us // 1_000_000), STAMP_MARK, 1)
    if host:
        head = head.replace(host.encode(), HOST_MARK, 1)
    return head, raw[len(kept) :], False


def bsd_stamp(event_us: int) -> bytes:
    """event_time as an RFC 3164 timestamp in UTC ("Mmm dd hh:mm:ss", the day padded with a space)."""
    return _second_stamp(event_us // 1_000_000)


@functools.lru_cache(maxsize=4096)
def _second_stamp(second: int) -> bytes:
    """bsd_stamp of a whole second: the lines of a batch share few seconds, and formatting one took about a
    tenth of a line's row building."""
    t = time.gmtime(second)
    return b"%s %2d %02d:%02d:%02d" % (_MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _raw_columns(lines: list[bytes], parsed: list[ParsedLine]) -> Columns:
    parts = [raw_parts(raw, p.message, p.host, p.event_time_ns // 1000) for raw, p in zip(lines, parsed, strict=True)]
    return {
        "raw_head": [head for head, _, _ in parts],
        "raw_tail": [tail for _, tail, _ in parts],
        "raw_whole": [whole for _, _, whole in parts],
    }
