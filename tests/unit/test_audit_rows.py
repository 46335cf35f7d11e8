from common.signing import sign
from processors.tables import mcp_audit_rows
from schemas import mcp_audit
from schemas.mcp_audit import AuditBatch, AuditRecord
from tests.signing_keys import KEYS

KEY = KEYS["mcp_audit"]


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
    value = mcp_audit.encode(sign(KEY, AuditBatch(1, [_record(), _record(status=200, outcome="ok")])))
    rows = mcp_audit_rows.record_rows(value, 2, 41, 5, KEY)
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
    assert mcp_audit_rows.record_rows(b"\x00garbage", 0, 0, 0, KEY) is None


def test_an_unsigned_or_altered_batch_is_one_refused_row_not_the_records_it_claims():
    genuine = sign(KEY, AuditBatch(1, [_record(principal="admin", outcome="ok", status=200)]))
    altered = AuditBatch(1, [_record(principal="admin", outcome="ok", status=201)], genuine.signature)
    other_key = sign(bytes(32) + b"x", AuditBatch(1, [_record()]))
    for batch, why in ((AuditBatch(1, [_record()]), "unsigned"), (altered, "does not verify"), (other_key, "verify")):
        [row] = mcp_audit_rows.record_rows(mcp_audit.encode(batch), 0, 9, 1_700_000_000_000_000_000, KEY)
        assert (row["outcome"], row["principal"], row["kafka_offset"]) == ("refused", "-", 9)
        assert why in row["reason"] and row["time"] == 1_700_000_000_000_000
    assert mcp_audit_rows.record_rows(mcp_audit.encode(genuine), 0, 9, 0, KEY)[0]["principal"] == "admin"
