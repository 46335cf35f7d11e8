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

import functools
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
    fields = plain(record)
    if isinstance(record, AuditBatch):  # array_like: every field is always there, the signature last
        fields = {"version": fields[0], "records": fields[1]}
    else:
        fields.pop("signature", None)
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return PURPOSES[type(record)].encode() + b"\n" + body.encode()


def plain(value: Any) -> Any:
    """A value as JSON types: a struct as an object without the fields holding their default (compared by
    value, so a record read back from a table gives the bytes it was signed with), an array_like struct as an
    array of all its fields."""
    if isinstance(value, msgspec.Struct):
        array_like, defaults = _shape(type(value))
        if array_like:
            return [plain(getattr(value, name)) for name, _ in defaults]
        shown = {}
        for name, default in defaults:
            item = getattr(value, name)
            if default is _NONE or item != default:
                shown[name] = plain(item)
        return shown
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


_NONE: Any = object()


@functools.cache
def _shape(cls: type[msgspec.Struct]) -> tuple[bool, tuple[tuple[str, Any], ...]]:
    """(array_like, (field name, default or _NONE) in order) of a struct type, looked up once."""
    fields = []
    for f in msgspec.structs.fields(cls):
        if f.default is not msgspec.NODEFAULT:
            fields.append((f.name, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, f.default_factory()))
        else:
            fields.append((f.name, _NONE))
    return bool(cls.__struct_config__.array_like), tuple(fields)
