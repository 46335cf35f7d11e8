"""The bytes a record's signature covers: the wire contract of signed records, written down here only.

A signed record is a command, a step, an inventory event or an MCP audit batch. Its canonical bytes are a
purpose line naming the kind of record (so a signature made for one kind never verifies as another, should
two keys ever be the same) and the record's fields, its signature excepted, as JSON with sorted keys, no
whitespace and UTF-8 text. Every field is covered: for a command id, actor, client, transport, tool,
arguments, sealed secrets, reason, target and time; for a step also its outcome, result and signer; for an
inventory event the whole entity. Fields holding their default (compared by value) are left out, on the
signing and the checking side alike, so a record written before a field existed keeps its bytes; an
array_like struct (an MCP audit batch and its records, a threshold) is an array of all its fields.
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
    fields = {f.name: plain(getattr(record, f.name)) for f in msgspec.structs.fields(record) if f.name != "signature"}
    if not isinstance(record, AuditBatch):  # array_like: every field is always there
        fields = {name: value for name, value in fields.items() if not _default(record, name)}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return PURPOSES[type(record)].encode() + b"\n" + body.encode()


def plain(value: Any) -> Any:
    """A value as JSON types: a struct as an object without the fields holding their default (compared by
    value, so a record read back from a table gives the bytes it was signed with), an array_like struct as an
    array of all its fields."""
    if isinstance(value, msgspec.Struct):
        fields = msgspec.structs.fields(value)
        if value.__struct_config__.array_like:
            return [plain(getattr(value, f.name)) for f in fields]
        return {f.name: plain(getattr(value, f.name)) for f in fields if not _default(value, f.name)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _default(struct: msgspec.Struct, name: str) -> bool:
    """Does the field hold its default (by value)?"""
    field = next(f for f in msgspec.structs.fields(struct) if f.name == name)
    if field.default is not msgspec.NODEFAULT:
        return bool(getattr(struct, name) == field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return bool(getattr(struct, name) == field.default_factory())
    return False
