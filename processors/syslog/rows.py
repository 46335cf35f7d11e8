"""Raw syslog records -> rows of the syslog table. Pure: parsing and mining, no I/O.

A record that cannot be decoded (a poison message) still becomes one row, flagged, with its bytes as the
raw line: nothing read from the topic is dropped, and the partition moves on.
"""

from __future__ import annotations

from typing import Any

from processors.syslog.miner import Miner
from processors.syslog.parse import mining_text, parse
from schemas import raw_syslog
from schemas.raw_syslog import LineFlag

UNDECODABLE = "undecodable raw syslog record"

Row = tuple[Any, ...]
"""One syslog row, values in schemas.tables.SYSLOG_COLUMNS order."""


def record_rows(value: bytes, partition: int, offset: int, record_ns: int, miner: Miner) -> list[Row]:
    """The rows of one Kafka record of the raw syslog topic; record_ns is the record's Kafka timestamp."""
    try:
        batch = raw_syslog.decode(value)
    except ValueError:
        return [_undecodable_row(value, partition, offset, record_ns, miner)]
    transport = batch.transport
    rows = []
    add = miner.add
    for i, (line, received_ns, source, flags) in enumerate(
        zip(batch.lines, batch.received_ns, batch.sources, batch.flags, strict=True)
    ):
        p = parse(line, received_ns, source)
        rows.append(
            (
                received_ns // 1000,
                p.event_time_ns // 1000,
                source,
                transport,
                p.host,
                p.facility,
                p.severity,
                p.level,
                p.type,
                p.tag,
                p.pid,
                p.msgid,
                p.structured_data,
                p.message,
                add(mining_text(p), received_ns),
                p.parse_error,
                flags,
                line,
                partition,
                offset,
                i,
            )
        )
    return rows


def _undecodable_row(value: bytes, partition: int, offset: int, record_ns: int, miner: Miner) -> Row:
    p = parse(b"", record_ns, "")
    us = record_ns // 1000
    return (
        us,
        us,
        "",
        "unknown",
        "",
        p.facility,
        p.severity,
        p.level,
        p.type,
        "",
        "",
        "",
        "",
        UNDECODABLE,
        miner.add(UNDECODABLE, record_ns),
        True,
        int(LineFlag.FRAMING),
        value,
        partition,
        offset,
        0,
    )
