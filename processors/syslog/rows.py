"""Raw syslog records -> columns of the syslog table. Pure: parsing and mining, no I/O.

Built column by column, by name: the insert is columnar anyway, so no row tuples are made and taken apart
again, and the column order is schemas.tables.SYSLOG_COLUMNS' alone.

A record that cannot be decoded (a poison message) still becomes one row, flagged, with its bytes as the
raw line: nothing read from the topic is dropped, and the partition moves on.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from processors.syslog.miner import Miner
from processors.syslog.parse import mining_text, parse
from schemas import raw_syslog
from schemas.raw_syslog import LineFlag

UNDECODABLE = "undecodable raw syslog record"

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
        "raw": batch.lines,
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
        "raw": [value],
        "kafka_partition": [partition],
        "kafka_offset": [offset],
        "line_no": [0],
    }
