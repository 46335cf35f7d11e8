"""MCP audit-topic records -> rows of mcp_audit. Pure.

A record that does not decode gives no row (None): the projector counts and logs it and moves on, so a
poison record never stalls the audit partition.
"""

from __future__ import annotations

from typing import Any

from schemas import mcp_audit
from schemas.tables import MCP_AUDIT_COLUMNS

Row = tuple[Any, ...]
COLUMNS = MCP_AUDIT_COLUMNS


def record_rows(value: bytes, partition: int, offset: int) -> list[Row] | None:
    """One row per audit record of an AuditBatch, in order; None when the record is not an AuditBatch."""
    try:
        batch = mcp_audit.decode(value)
    except ValueError:
        return None
    return [mcp_audit.row(r, partition, offset, seq) for seq, r in enumerate(batch.records)]
