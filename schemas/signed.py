"""The bytes a record's signature covers: the wire contract of signed records, written down here only.

A signed record is a command, a step, an inventory event or an MCP audit batch. Its canonical bytes are a
purpose line naming the kind of record (so a signature made for one kind never verifies as another, should
two keys ever be the same) and the record's fields, its signature excepted, as JSON with sorted keys, no
whitespace and UTF-8 text. Every field is covered: for a command id, actor, client, transport, tool,
arguments, sealed secrets, reason, target and time; for a step also its outcome, result and signer; for an
inventory event the whole entity. Fields holding their default are left out (msgspec's omit_defaults), on
the signing and the checking side alike, so a record written before a field existed keeps its bytes.
The signature is HMAC-SHA256 of these bytes, as lowercase hex (common.signing computes and checks it).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from schemas.commands import Command, Step
from schemas.inventory import InventoryEvent
from schemas.mcp_audit import AuditBatch

Signed = Command | Step | InventoryEvent | AuditBatch

PURPOSES: dict[type, str] = {
    Command: "netobs.command.v1",
    Step: "netobs.step.v1",
    InventoryEvent: "netobs.inventory.v1",
    AuditBatch: "netobs.mcp_audit.v1",
}


def canonical(record: Signed) -> bytes:
    """The bytes a record's signature covers: its purpose line, then its fields but the signature, canonical JSON."""
    fields: Any = msgspec.to_builtins(msgspec.structs.replace(record, signature=""))
    if isinstance(record, AuditBatch):
        fields = {"version": fields[0], "records": fields[1]}  # array_like: the signature is the last element
    else:
        fields.pop("signature", None)
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return PURPOSES[type(record)].encode() + b"\n" + body.encode()
