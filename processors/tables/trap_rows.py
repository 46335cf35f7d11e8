"""Trap-topic records -> rows of snmp_traps. Pure: decoding and shaping, no I/O.

A record that does not decode gives no row (None): snmp_traps has no place for bytes that are not a
trap, and a made-up row would pollute trap searches. The projector counts and logs it and moves on.
"""

from __future__ import annotations

from typing import Any

from processors.tables.column_values import INT8, INT32, UINT64, bounded, micros
from schemas import traps
from schemas.traps import Trap

Row = tuple[Any, ...]

COLUMNS = (
    "received_at",
    "source",
    "version",
    "pdu",
    "security_name",
    "trap_oid",
    "trap_name",
    "uptime",
    "enterprise",
    "agent_address",
    "generic_trap",
    "specific_trap",
    "varbind_oids",
    "varbind_names",
    "varbind_types",
    "varbind_values",
    "variables",
    "kafka_partition",
    "kafka_offset",
    "seq",
)


def record_rows(value: bytes, partition: int, offset: int) -> list[Row] | None:
    """One row per trap of a TrapBatch record, in receive order; None when the record is not a TrapBatch."""
    try:
        batch = traps.decode(value)
    except ValueError:
        return None
    return [trap_row(trap, partition, offset, seq) for seq, trap in enumerate(batch.traps)]


def trap_row(trap: Trap, partition: int, offset: int, seq: int) -> Row:
    """The snmp_traps row of one trap."""
    binds = trap.varbinds
    return (
        micros(trap.received_ns),
        trap.source,
        trap.version,
        trap.pdu,
        trap.security_name,
        trap.trap_oid,
        trap.trap_name,
        bounded(trap.uptime, *UINT64),
        trap.enterprise,
        trap.agent_address,
        bounded(trap.generic_trap, *INT8),
        bounded(trap.specific_trap, *INT32),
        [b.oid for b in binds],
        [b.name for b in binds],
        [b.type for b in binds],
        [b.value for b in binds],
        variables_text(trap),
        partition,
        offset,
        seq,
    )


def variables_text(trap: Trap) -> str:
    """TWSNMP FK's Variables: one "name=value" per line, so a regular expression can search them whole."""
    return "\n".join(f"{b.name}={b.value}" for b in trap.varbinds)
