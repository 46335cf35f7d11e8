"""Signatures over canonical bytes (schemas.signed, common.signing): pure, so tampering with any field of any
signed record is tried field by field."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import msgspec
import pytest

from common import signing
from schemas import commands, inventory, mcp_audit
from schemas.commands import Command, Step
from schemas.inventory import InventoryEvent, Node, Polling, Threshold
from schemas.mcp_audit import AuditBatch, AuditRecord
from schemas.signed import canonical

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
T = 1_760_000_000_123_456_789

COMMAND = Command(
    id="c1",
    time_ns=T,
    actor="operator",
    client="127.0.0.1",
    transport="http",
    tool="snmpset",
    args={"target": "r1", "oid": "1.3.6.1.2.1.1.6.0", "type": "string", "value": "rack 1", "n": 2.5},
    secret_keys=["community"],
    sealed="c2VhbGVk",
    reason="move",
)
DECISION = Command(kind="approve", id="d1", time_ns=T, actor="boss", tool="approve_command", target="c1")
STEP = Step(command_id="c1", step="executed", time_ns=T, actor="executor", tool="snmpset", result='{"ok":1}')
EVENT = InventoryEvent(
    kind="polling",
    op="upsert",
    id="p1",
    time_ns=T,
    actor="seed:x",
    polling=Polling(id="p1", node_id="n1", name="p", kind="snmp", thresholds=[Threshold("rtt", ">", 5.0, "warn")]),
)
RECORD = AuditRecord(T, "h:1", "http", "127.0.0.1", "admin", "tools/call", "snmpset", "ab", "ok", "", 200, 1.5)
BATCH = AuditBatch(1, [RECORD])

ALTERED: dict[str, Any] = {
    "version": 2,
    "kind": "reject",
    "id": "other",
    "time_ns": T + 1,
    "actor": "admin",
    "client": "10.0.0.1",
    "transport": "stdio",
    "tool": "snmpwalk",
    "args": {"target": "r2"},
    "secret_keys": [],
    "sealed": "",
    "reason": "x",
    "target": "c2",
    "command_id": "c2",
    "step": "approved",
    "result": "{}",
    "signer": "mcp",
    "op": "delete",
    "polling": Polling(id="p1", node_id="n1", name="p", kind="ping"),
}


def fields_of(record: Any) -> list[str]:
    return [f for f in record.__struct_fields__ if f != "signature"]


@pytest.mark.parametrize("record", [COMMAND, DECISION, STEP, EVENT])
def test_every_field_is_covered(record: Any) -> None:
    signed = signing.sign(KEY, record)
    assert signing.refusal(KEY, signed) is None
    for name in fields_of(record):
        value = ALTERED.get(name)
        if value is None or value == getattr(record, name):
            continue
        altered = msgspec.structs.replace(signed, **{name: value})
        assert signing.refusal(KEY, altered) is not None, name


@pytest.mark.parametrize("record", [COMMAND, STEP, EVENT, BATCH])
def test_the_signature_survives_the_wire(record: Any) -> None:
    signed = signing.sign(KEY, record)
    decode = {
        Command: commands.decode_command,
        Step: commands.decode_step,
        InventoryEvent: inventory.decode,
        AuditBatch: mcp_audit.decode,
    }[type(record)]
    encode = {AuditBatch: mcp_audit.encode, InventoryEvent: inventory.encode}.get(type(record), commands.encode)
    back = decode(encode(signed))  # type: ignore[operator]
    assert canonical(back) == canonical(record) and signing.refusal(KEY, back) is None


def test_an_audit_batch_is_covered_record_by_record() -> None:
    signed = signing.sign(KEY, BATCH)
    for index, name in enumerate(AuditRecord.__struct_fields__):
        value = list(msgspec.to_builtins(RECORD))
        value[index] = value[index] + 1 if isinstance(value[index], int | float) else value[index] + "x"
        forged = AuditBatch(1, [AuditRecord(*value)], signed.signature)
        assert signing.refusal(KEY, forged) is not None, name
    assert signing.refusal(KEY, AuditBatch(1, [RECORD, RECORD], signed.signature)) is not None


def test_unsigned_another_key_or_another_kind_is_refused() -> None:
    assert signing.refusal(KEY, STEP) == "unsigned"
    assert "does not verify" in (signing.refusal(KEY, signing.sign(OTHER, STEP)) or "")
    # The purpose line: a node event's signature never verifies as a step's, whatever the bytes.
    assert canonical(STEP).startswith(b"netobs.step.v1\n") and canonical(COMMAND).startswith(b"netobs.command.v1\n")
    with pytest.raises(ValueError, match="256 bits"):
        signing.signature(b"", STEP)


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    event = InventoryEvent(kind="node", op="upsert", id="n", time_ns=1, actor="é", node=Node(id="n", name="r", ip="1"))
    assert (
        canonical(event)
        == (
            'netobs.inventory.v1\n{"actor":"é","id":"n","kind":"node","node":{"id":"n","ip":"1","name":"r"},'
            '"op":"upsert","time_ns":1}'
        ).encode()
    )


def test_step_refusal_knows_its_signers() -> None:
    denial = Step(command_id="x", step="denied", time_ns=T, actor="reader", signer="mcp")
    assert signing.step_refusal(KEY, OTHER, signing.sign(OTHER, denial)) is None
    executed_by_mcp = msgspec.structs.replace(STEP, signer="mcp")
    assert "only denials" in (signing.step_refusal(KEY, OTHER, signing.sign(OTHER, executed_by_mcp)) or "")
    assert signing.step_refusal(KEY, OTHER, signing.sign(KEY, STEP)) is None
    assert "not a step of the executor" in (signing.step_refusal(KEY, OTHER, signing.sign(OTHER, STEP)) or "")
    assert "unknown signer" in (signing.step_refusal(KEY, OTHER, msgspec.structs.replace(STEP, signer="me")) or "")


def test_keys_are_created_private_and_read_back(tmp_path: Path) -> None:
    path = signing.key_path(tmp_path, "steps")
    assert path == tmp_path / "keys" / "steps.key"
    with pytest.raises(FileNotFoundError):
        signing.load_key(path, create=False)
    key = signing.load_key(path)
    assert len(key) == 32 and signing.load_key(path, create=False) == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert signing.key_path(tmp_path, "commands", "/etc/netobs/c.key") == Path("/etc/netobs/c.key")
    with pytest.raises(ValueError, match="no signing key"):
        signing.key_path(tmp_path, "secrets")
