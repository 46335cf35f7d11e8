"""Trap-topic records -> rows of snmp_traps. Pure: decoding and shaping, no I/O.

A record that does not decode gives no row (None): snmp_traps has no place for bytes that are not a
trap, and a made-up row would pollute trap searches. The projector counts and logs it and moves on.
"""

from __future__ import annotations

from processors.projector import Row
from processors.tables.column_values import INT8, INT32, UINT64, bounded, micros
from schemas import traps
from schemas.traps import Trap


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
    return {
        "received_at": micros(trap.received_ns),
        "source": trap.source,
        "version": trap.version,
        "pdu": trap.pdu,
        "security_name": trap.security_name,
        "trap_oid": trap.trap_oid,
        "trap_name": trap.trap_name,
        "uptime": bounded(trap.uptime, *UINT64),
        "enterprise": trap.enterprise,
        "agent_address": trap.agent_address,
        "generic_trap": bounded(trap.generic_trap, *INT8),
        "specific_trap": bounded(trap.specific_trap, *INT32),
        "varbind_oids": [b.oid for b in binds],
        "varbind_names": [b.name for b in binds],
        "varbind_types": [b.type for b in binds],
        "varbind_values": [b.value for b in binds],
        "variables": variables_text(trap),
        "kafka_partition": partition,
        "kafka_offset": offset,
        "seq": seq,
    }


def variables_text(trap: Trap) -> str:
    """TWSNMP FK's Variables: one "name=value" per line, so a regular expression can search them whole."""
    return "\n".join(f"{b.name}={b.value}" for b in trap.varbinds)
