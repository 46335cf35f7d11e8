from processors.tables import mcp_audit_rows
from schemas import mcp_audit
from schemas.mcp_audit import AuditBatch, AuditRecord


def _record(**extra):
    base = dict(
        time_ns=1_700_000_000_123_456_789,
        service="h:1",
        transport="http",
        client="127.0.0.1",
        principal="reader",
        method="tools/call",
        tool="do_ping",
        args_digest="ab" * 32,
        outcome="denied",
        reason="insufficient scope (probe)",
        status=403,
        latency_ms=1.5,
    )
    return AuditRecord(**(base | extra))


def test_rows_with_offsets():
    value = mcp_audit.encode(AuditBatch(1, [_record(), _record(status=200, outcome="ok")]))
    rows = mcp_audit_rows.record_rows(value, partition=2, offset=41)
    assert len(rows) == 2
    first = rows[0]
    assert first["time"] == 1_700_000_000_123_456
    assert (first["principal"], first["tool"], first["outcome"], first["status"]) == (
        "reader",
        "do_ping",
        "denied",
        403,
    )
    assert (first["kafka_partition"], first["kafka_offset"], first["seq"]) == (2, 41, 0)
    assert rows[1]["seq"] == 1


def test_poison_record_gives_none():
    assert mcp_audit_rows.record_rows(b"\x00garbage", 0, 0) is None
