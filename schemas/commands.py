"""Wire format of the command path: commands (netobs.commands) and their steps (netobs.command.results).

The MCP service publishes a Command for every action tool call (and for an approval or rejection of a
pending one); the executor (executor/) consumes them, and publishes a Step for everything that happens
to a command: requested, pending_approval, approved, rejected, denied, executing, executed, failed,
timed_out. The worker chains the steps into the command_audit table (common.audit_chain), and the
MCP service waits on the steps topic for the outcome of its own command.

Secrets (an SNMP community, a v3 password) never travel in args: the MCP service seals them with
AES-256-GCM under the command key shared with the executor (common.sealing), bound to the command id,
and names the sealed keys in secret_keys; the audit shows the names, never the values.

Both carry an HMAC-SHA256 signature over their canonical bytes (schemas.signed): a command under the
commands key (the MCP service signs, the executor checks), a step under the steps key (the executor signs;
the worker and `netobs audit verify` check), or, for the denials the MCP service records itself
(signer "mcp"), under the MCP audit key.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec

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
    "refused",
)
"""refused: a record that failed its signature check (a command the executor refused, or a step the worker
refused); it says nothing about the command whose id it carries, so the executor's memory skips it."""
FINAL_STEPS = frozenset({"rejected", "denied", "executed", "failed", "timed_out"})
"""Steps after which nothing more happens to a command."""
EXECUTOR = "executor"
"""The actor of steps the executor takes on its own (executing, executed, failed, timed_out, denied)."""
SIGNERS = ("executor", "mcp")
"""Who signed a step: the executor (steps key), or the MCP service for a call it denied itself (MCP audit key)."""


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
    signature: str = ""
    """HMAC-SHA256 (hex) of schemas.signed.canonical(command) under the commands key."""


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
    signer: str = "executor"
    signature: str = ""
    """HMAC-SHA256 (hex) of schemas.signed.canonical(step) under the signer's key (see SIGNERS)."""

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
