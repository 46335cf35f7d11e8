"""The command key and the sealing of secrets with it: the MCP service seals an action's secrets, the
executor opens them, and nobody else on the command topics can read them or move them to another command."""

from __future__ import annotations

import base64
import json
import os
import secrets as random
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """A key (256 bits, hex in a 0600 file), created on first use: the command key (by the MCP service or the
    executor), and the signing keys (common.signing)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(random.token_hex(KEY_BYTES) + "\n")
        try:
            os.link(staged, path)  # atomic and never replaces: a process that got there first wins
        except FileExistsError:
            pass
        finally:
            staged.unlink()
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(f"key {path}: expected {KEY_BYTES * 2} hex digits")
    return key


def seal(key: bytes, command_id: str, secrets: dict[str, str]) -> str:
    """AES-256-GCM of the secrets' JSON, bound to the command id (moving it to another command fails)."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(secrets).encode(), command_id.encode())
    return base64.b64encode(nonce + sealed).decode()


class SealError(ValueError):
    """The sealed secrets do not open with this key for this command."""


def unseal(key: bytes, command_id: str, sealed: str) -> dict[str, str]:
    """The secrets sealed for command_id; SealError when the key, the id or the bytes do not match."""
    if not sealed:
        return {}
    try:
        raw = base64.b64decode(sealed, validate=True)
        opened = AESGCM(key).decrypt(raw[:12], raw[12:], command_id.encode())
        value = json.loads(opened)
    except (ValueError, InvalidTag) as exc:
        raise SealError("sealed secrets do not open (another command key, or altered)") from exc
    if not isinstance(value, dict):
        raise SealError("sealed secrets are not a mapping")
    return {str(k): str(v) for k, v in value.items()}
