"""MCP audit-topic records -> rows of mcp_audit. Pure.

The rows come from schemas.mcp_audit.row, which a lone stdio MCP service also writes with.

A batch whose signature (MCP audit key) is missing or does not verify is not projected as the records it
claims: it becomes one row of outcome "refused" naming why, with the topic position, so the refusal is in
mcp_audit and nothing forged looks genuine. A record that does not decode gives no row (None): the projector
counts and logs it and moves on, so a poison record never stalls the audit partition.
"""

from __future__ import annotations

from common.signing import refusal
from processors.projector import Row
from schemas import mcp_audit
from schemas.mcp_audit import AuditRecord


def record_rows(value: bytes, partition: int, offset: int, record_ns: int, key: bytes) -> list[Row] | None:
    """One row per audit record of an AuditBatch signed under key, in order; one "refused" row (at record_ns, the
    broker's time of the record) for a batch that is not; None when the record is not an AuditBatch."""
    try:
        batch = mcp_audit.decode(value)
    except ValueError:
        return None
    why = refusal(key, batch)
    if why is None:
        return [mcp_audit.row(r, partition, offset, seq) for seq, r in enumerate(batch.records)]
    claimed = sorted({r.principal for r in batch.records})
    refused = AuditRecord(
        time_ns=record_ns,
        service="-",
        transport="-",
        client="-",
        principal="-",
        method="-",
        tool="",
        args_digest="",
        outcome=mcp_audit.REFUSED,
        reason=f"audit batch refused by the worker: {why}; it claimed {len(batch.records)} record(s) of "
        f"{', '.join(claimed)[:200] or 'nobody'}",
        status=0,
        latency_ms=0.0,
    )
    return [mcp_audit.row(refused, partition, offset, 0)]
