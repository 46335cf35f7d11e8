"""Signing keys, and HMAC-SHA256 signatures over the canonical bytes of records (schemas.signed).

A record that makes something happen is signed by its writer under a key of its purpose, held only by its
writers and readers, so a client that can reach the broker (with or without broker credentials) cannot
forge one: the commands key (MCP service -> executor), the steps key (executor -> worker, executor, audit
verify), the inventory key (executor and seed -> executor, poller, worker) and the MCP audit key (MCP
service -> worker, audit verify). Each is 256 random bits in a 0600 file, created on first start.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import TypeVar

import msgspec

from common.sealing import load_or_create_key
from schemas.commands import Step
from schemas.signed import Signed, canonical

PURPOSES = ("commands", "steps", "inventory", "mcp_audit")
"""The signing keys, by purpose; each has its own file (DATA_DIR/keys/<purpose>.key unless configured)."""

R = TypeVar("R", bound=Signed)


def key_path(data_dir: Path, purpose: str, configured: str = "") -> Path:
    """Where a signing key lives: the configured file, else DATA_DIR/keys/<purpose>.key."""
    if purpose not in PURPOSES:
        raise ValueError(f"no signing key for {purpose!r}; known: {PURPOSES}")
    return Path(configured) if configured else data_dir / "keys" / f"{purpose}.key"


def load_key(path: Path, create: bool = True) -> bytes:
    """A signing key from its file, created (0600, in a 0700 directory) when missing and create is set."""
    if not create and not path.exists():
        raise FileNotFoundError(f"signing key {path} does not exist (it is created by the node's first start)")
    if create and not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return load_or_create_key(path)


def signature(key: bytes, record: Signed) -> str:
    """HMAC-SHA256 of the record's canonical bytes, hex. An empty or short key is refused: HMAC would accept it,
    and so would anyone who guessed it."""
    if len(key) < 32:
        raise ValueError("a signing key is at least 256 bits")
    return hmac.new(key, canonical(record), hashlib.sha256).hexdigest()


def sign(key: bytes, record: R) -> R:
    """The record with its signature under key."""
    return msgspec.structs.replace(record, signature=signature(key, record))


def refusal(key: bytes, record: Signed) -> str | None:
    """Why the record is not to be trusted (unsigned, or its signature does not verify), or None when it is."""
    if not record.signature:
        return "unsigned"
    if not hmac.compare_digest(record.signature, signature(key, record)):
        return "signature does not verify (altered, or not signed with the key of its writer)"
    return None


def step_refusal(steps_key: bytes, mcp_audit_key: bytes, step: Step) -> str | None:
    """Why a step is not genuine, or None: the executor's steps verify under the steps key; the MCP service signs
    only the denials of calls it refused itself (signer "mcp"), under the MCP audit key."""
    if step.signer == "executor":
        why = refusal(steps_key, step)
        return None if why is None else f"not a step of the executor: {why}"
    if step.signer == "mcp":
        if step.step != "denied":
            return f"signer mcp: the MCP service records only denials, not {step.step!r}"
        why = refusal(mcp_audit_key, step)
        return None if why is None else f"not a denial of the MCP service: {why}"
    return f"unknown signer {step.signer!r}"
