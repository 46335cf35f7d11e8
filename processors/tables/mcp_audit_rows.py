"""MCP audit-topic records -> rows of mcp_audit. Pure.

The rows come from schemas.mcp_audit.row, which a lone stdio MCP service also writes with.

A record that does not decode gives no row (None): the projector counts and logs it and moves on, so a
poison record never stalls the audit partition.
"""

from __future__ import annotations

from processors.projector import Row
from schemas import mcp_audit


def record_rows(value: bytes, partition: int, offset: int) -> list[Row] | None:
    """One row per audit record of an AuditBatch, in order; None when the record is not an AuditBatch."""
    try:
        batch = mcp_audit.decode(value)
    except ValueError:
        return None
    return [mcp_audit.row(r, partition, offset, seq) for seq, r in enumerate(batch.records)]
