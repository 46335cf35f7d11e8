"""Wire format of the MCP audit topic: one record per MCP request, authenticated or not, many per Kafka
record. The MCP service publishes them (it never writes ClickHouse); the worker projects them into
mcp_audit. Arguments are kept only as a digest: they may hold secrets (an SNMP community, say).

A batch carries an HMAC-SHA256 signature over its canonical bytes (schemas.signed) under the MCP audit key;
the worker projects a batch whose signature is missing or does not verify as one row of outcome "refused"
(REFUSED), never as the records it claims.
"""

from __future__ import annotations

from typing import Any

import msgspec

WIRE_VERSION = 1


class AuditRecord(msgspec.Struct, array_like=True, frozen=True):
    time_ns: int
    service: str
    """host:pid of the MCP service that answered."""
    transport: str
    """http (Streamable HTTP), sse, stdio, clickhouse-http (the ClickHouse HTTP endpoint; tool "sql")."""
    client: str
    """Client address (after trusted-proxy resolution); "stdio" for stdio."""
    principal: str
    """Credential name (admin, a named token, jwt:<sub>, stdio); "-" when unauthenticated."""
    method: str
    """JSON-RPC method (tools/call, tools/list, ...) or the HTTP method and path when refused before it."""
    tool: str
    args_digest: str
    """SHA-256 (hex) of the canonical JSON of the arguments; empty without arguments."""
    outcome: str
    """ok, tool_error, denied, error."""
    reason: str
    """Why denied or failed (never a credential)."""
    status: int
    """HTTP status, 0 on stdio."""
    latency_ms: float


class AuditBatch(msgspec.Struct, array_like=True, frozen=True):
    version: int
    records: list[AuditRecord]
    signature: str = ""
    """HMAC-SHA256 (hex) of schemas.signed.canonical(batch) under the MCP audit key; "" on batches from before
    signing."""


REFUSED = "refused"
"""The outcome of the row that stands for a batch the worker refused (its signature is missing or wrong)."""


LAST_DATETIME64_US = 10_413_791_999_999_999
"""2299-12-31 23:59:59.999999 UTC, the last instant mcp_audit.time holds."""


def row(record: AuditRecord, partition: int, offset: int, seq: int) -> dict[str, Any]:
    """The mcp_audit row of a record by column name (schemas.tables.MCP_AUDIT_COLUMNS), values kept within the
    columns' ranges (whoever writes the table: the worker, or a lone stdio service)."""
    return {
        "time": min(max(record.time_ns // 1000, 0), LAST_DATETIME64_US),
        "service": record.service,
        "transport": record.transport,
        "client": record.client,
        "principal": record.principal,
        "method": record.method,
        "tool": record.tool,
        "args_digest": record.args_digest,
        "outcome": record.outcome,
        "reason": record.reason,
        "status": max(0, min(record.status, 65535)),
        "latency_ms": float(record.latency_ms),
        "kafka_partition": partition,
        "kafka_offset": offset,
        "seq": seq,
    }


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AuditBatch)


def encode(batch: AuditBatch) -> bytes:
    return _encoder.encode(batch)


def decode(data: bytes) -> AuditBatch:
    """Read a batch; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    return _decoder.decode(data)
