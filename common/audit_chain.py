"""A tamper-evident chain over audit records: each record's hash covers its fields and the previous hash.

Pure. The worker stamps each command_audit record with chain_hash(previous, chained_fields(values));
`netobs audit verify` (executor/) walks the stored rows with first_broken() and names the first record whose
hash does not follow, so an edited, removed or reordered row is found, and everything before it is vouched for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.tables import COMMAND_AUDIT_CHAINED

GENESIS = "0" * 64
"""The 'previous hash' of the first record."""


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes a hash covers: sorted keys, no whitespace, UTF-8; the same fields always give the same bytes."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(previous: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash and the record's canonical fields, hex."""
    return hashlib.sha256(previous.encode() + b"\n" + canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Broken:
    """Where the chain breaks: the record's position and sequence number, and why."""

    position: int
    seq: int
    reason: str


def first_broken(records: Iterable[tuple[int, Mapping[str, Any], str]]) -> Broken | None:
    """Walk (seq, fields, stored hash) in seq order; None when every hash follows from the one before.

    A gap in seq (a removed record) breaks the chain at the record after the gap, as does a stored hash
    that differs from the recomputed one (an edited record, or one moved).
    """
    previous, expected_seq = GENESIS, None
    for position, (seq, fields, stored) in enumerate(records):
        if expected_seq is not None and seq != expected_seq:
            return Broken(position, seq, f"sequence jumps from {expected_seq - 1} to {seq}: a record is missing")
        if chain_hash(previous, fields) != stored:
            return Broken(position, seq, "hash does not match the record and the hash before it")
        previous, expected_seq = stored, seq + 1
    return None


UNSIGNED = ("signer", "signature")
"""Columns a record from before signing lacks: left out of its fields when both are empty, so its hash holds."""


def chained_fields(values: Sequence[Any]) -> dict[str, Any]:
    """What a record's hash covers, from its COMMAND_AUDIT_CHAINED values in order: time as int ns, the rest str;
    signer and signature only when either is set."""
    fields = {
        column: int(value) if column == "time" else str(value)
        for column, value in zip(COMMAND_AUDIT_CHAINED, values, strict=True)
    }
    if not any(fields[column] for column in UNSIGNED):
        for column in UNSIGNED:
            del fields[column]
    return fields
