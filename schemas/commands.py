"""Wire format of the command path: commands (netobs.commands) and their steps (netobs.command.results).

The MCP service publishes a Command for every action tool call (and for an approval or rejection of a
pending one); the executor (processors/) consumes them, and publishes a Step for everything that happens
to a command: requested, pending_approval, approved, rejected, denied, executing, executed, failed,
timed_out. The worker chains the steps into the command_audit table (processors.audit_chain), and the
MCP service waits on the steps topic for the outcome of its own command.

Secrets (an SNMP community, a v3 password) never travel in args: the MCP service seals them with
AES-256-GCM under the command key shared with the executor (load_or_create_key), bound to the command id,
and names the sealed keys in secret_keys; the audit shows the names, never the values.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random
from pathlib import Path
from typing import Any, Literal

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

WIRE_VERSION = 1

Kind = Literal["request", "approve", "reject"]
TOOLS = ("do_ping", "snmpwalk", "snmpset", "add_node", "update_node", "add_event_log")
"""The tools that become commands."""
SECRET_ARGS = ("community", "password")
"""Arguments that are sealed, never sent in args."""

STEPS = (
    "requested",
    "pending_approval",
    "approved",
    "rejected",
    "denied",
    "executing",
    "executed",
    "failed",
    "timed_out",
)
FINAL_STEPS = frozenset({"rejected", "denied", "executed", "failed", "timed_out"})
"""Steps after which nothing more happens to a command."""
EXECUTOR = "executor"
"""The actor of steps the executor takes on its own (executing, executed, failed, timed_out, denied)."""


class Command(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A request to act (kind request), or a decision on a pending one (approve, reject; target names it)."""

    version: int = WIRE_VERSION
    kind: Kind = "request"
    id: str
    """Unique per command (chosen by the MCP service); a redelivered command carries the same id."""
    time_ns: int
    actor: str
    """The principal that asked (or decided): a token name, jwt:<sub>, stdio."""
    client: str = ""
    """The client address the MCP service saw."""
    transport: str = ""
    tool: str = ""
    args: dict[str, Any] = {}
    """The tool's arguments without secrets."""
    secret_keys: list[str] = []
    sealed: str = ""
    """The secrets, sealed (see seal); empty when there are none."""
    reason: str = ""
    """Why, in the caller's words (optional); for approve/reject, the decider's note."""
    target: str = ""
    """approve/reject: the id of the pending command."""


class Step(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing that happened to a command. The command_audit table holds these, chained."""

    version: int = WIRE_VERSION
    command_id: str
    step: str
    time_ns: int
    actor: str
    """Who caused the step: the requester (requested), the decider (approved, rejected), else "executor"."""
    client: str = ""
    tool: str = ""
    args: str = ""
    """requested: the canonical JSON of the arguments, secrets named only (see audit_args)."""
    reason: str = ""
    """Why denied, rejected, failed or timed out; the requester's reason on requested."""
    result: str = ""
    """executed: the tool's result as JSON."""

    @property
    def final(self) -> bool:
        return self.step in FINAL_STEPS


_command_encoder = msgspec.json.Encoder()
_command_decoder = msgspec.json.Decoder(Command)
_step_decoder = msgspec.json.Decoder(Step)


def encode(record: Command | Step) -> bytes:
    """JSON: commands and steps are few and read by people."""
    return _command_encoder.encode(record)


def decode_command(data: bytes) -> Command:
    """Raises ValueError (msgspec errors, UnicodeDecodeError) on anything that is not a command."""
    command = _command_decoder.decode(data)
    if command.kind == "request" and command.tool not in TOOLS:
        raise msgspec.ValidationError(f"unknown tool {command.tool!r}")
    if command.kind != "request" and not command.target:
        raise msgspec.ValidationError(f"a {command.kind} names its target command")
    return command


def decode_step(data: bytes) -> Step:
    """Raises ValueError (msgspec errors, UnicodeDecodeError) on anything that is not a step."""
    step = _step_decoder.decode(data)
    if step.step not in STEPS:
        raise msgspec.ValidationError(f"unknown step {step.step!r}")
    return step


def audit_args(command: Command) -> str:
    """The arguments as the audit keeps them: canonical JSON, each secret shown as "(sealed)"."""
    shown = dict(command.args, **{k: "(sealed)" for k in command.secret_keys})
    return json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The command key (256 bits, hex in a 0600 file), created on first use by the MCP service or executor."""
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
        raise ValueError(f"command key {path}: expected {KEY_BYTES * 2} hex digits")
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
