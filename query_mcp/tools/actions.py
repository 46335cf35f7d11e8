"""The action tools: do_ping, snmpwalk, snmpset, add_node, update_node, add_event_log, and the command tools
get_command_status, approve_command and reject_command.

None of them acts here. Each checks its arguments (schemas.command_args, TWSNMP FK's names and bounds),
seals any secret, publishes a command in the caller's name and waits, bounded, for the executor's answer.
Without an answer in time the agent gets the command id to ask get_command_status with.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field
from typing_extensions import TypedDict

from common import sealing
from common.timefmt import rfc3339
from query_mcp.auth.caller import caller
from query_mcp.command_client import CommandClient, merge_steps, new_id
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, required_text
from query_mcp.tools.params import EventLevel, MapCoordinate, MapCoordinateOrKeep, SetType, SnmpMode
from query_mcp.tools.results import Listing, structured
from schemas import command_args
from schemas.commands import Command, Step
from schemas.scopes import APPROVE
from schemas.tables import COMMAND_AUDIT

Target = Annotated[str, Field(description="IP address or the name of a managed node.")]
MibObject = Annotated[str, Field(description="MIB object name (sysContact.0, ifDescr, IF-MIB::ifAlias.3) or OID.")]
Community = Annotated[str, Field(description="SNMPv2c community; blank: the node's own credential.")]
User = Annotated[str, Field(description="SNMPv3 user name (with snmp_mode v3auth, v3authpriv or v3authprivex).")]
Password = Annotated[str, Field(description="SNMPv3 password, used for authentication and privacy.")]
Reason = Annotated[str, Field(description="Why (optional): kept in the command audit.")]
NO_CLIENT = "actions are off here: this MCP service has no broker to send commands to (set NETOBS_KAFKA)"

PROBE = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
"""do_ping and snmpwalk: they change nothing, but reach devices on the network."""


class Waiting(TypedDict, total=False):
    """Fields every command tool may answer with while the command has no outcome yet."""

    CommandID: str
    Status: str
    Message: str


class PingResult(Waiting, total=False):
    Result: str
    Time: str
    RTT: str
    RTTNano: int
    Size: int
    TTL: int
    ResponseFrom: str
    Error: str


class SnmpRow(TypedDict):
    Name: str
    OID: str
    Type: str
    Value: str


class SnmpRows(Listing[SnmpRow]):
    """An agent's varbinds; Status and Message say when the command has no outcome yet (items is empty then)."""

    CommandID: str = ""
    Status: str = "executed"
    Message: str = ""


class NodeResult(Waiting, total=False):
    ID: str
    Name: str
    IP: str
    MAC: str
    Icon: str
    Description: str
    X: int
    Y: int


class EventAdded(Waiting, total=False):
    Result: str


class StepEntry(TypedDict):
    Step: str
    Time: str
    Actor: str
    Reason: str


class CommandStatus(TypedDict):
    CommandID: str
    Tool: str
    Actor: str
    Status: str
    Steps: list[StepEntry]
    Result: dict[str, Any] | None


class Decision(Waiting, total=False):
    Result: dict[str, Any]


def _answer(command_id: str, step: Step | None) -> dict[str, Any]:
    """The result of an executed command; a ToolError for any other answer the agent must act on."""
    if step is None:
        return {
            "CommandID": command_id,
            "Status": "running",
            "Message": "no outcome yet; ask get_command_status with this CommandID",
        }
    if step.step == "pending_approval":
        return {
            "CommandID": command_id,
            "Status": "pending_approval",
            "Message": "waits for a second principal to call approve_command; ask get_command_status later",
        }
    if step.step != "executed":
        raise ToolError(f"{step.step}: {step.reason} (CommandID {command_id})")
    return json.loads(step.result or "{}")


def register(server: MCPServer, store: Store, client: CommandClient | None) -> None:
    """Add the action and command tools to the server."""

    async def act(tool: str, args: dict[str, Any], secrets: dict[str, str], reason: str) -> tuple[str, dict[str, Any]]:
        if client is None:
            raise ToolError(NO_CLIENT)
        who = caller()
        try:
            checked = command_args.check(tool, args)
            reason = command_args.check_reason(reason)
        except command_args.ArgError as exc:
            raise ToolError(str(exc)) from None
        kept = {k: v for k, v in secrets.items() if v}
        command_id = new_id()
        command = Command(
            id=command_id,
            time_ns=time.time_ns(),
            actor=who.principal.name,
            client=who.client,
            transport=who.transport,
            tool=tool,
            args=checked,
            secret_keys=sorted(kept),
            sealed=sealing.seal(client.key, command_id, kept) if kept else "",
            reason=reason,
        )
        future = client.expect(command_id)
        await client.publish(command)
        return command_id, _answer(command_id, await client.wait(command_id, future, client.wait_seconds))

    @server.tool(
        name="do_ping",
        title="Ping a node",
        annotations=PROBE,
        description=(
            "Ping a managed node or an address inside a known network, through the audited command path. Returns "
            "{Result (ok, timeout, error), Time, RTT, RTTNano, Size, TTL, ResponseFrom, CommandID}."
        ),
    )
    async def do_ping(
        target: Target,
        size: Annotated[int, Field(ge=64, le=1500, description="Packet size, 64-1500.")] = 64,
        ttl: Annotated[int, Field(ge=1, le=254, description="IP TTL, 1-254.")] = 254,
        timeout: Annotated[int, Field(ge=1, le=10, description="Seconds to wait, 1-10.")] = 2,
        reason: Reason = "",
    ) -> Annotated[CallToolResult, PingResult]:
        command_id, result = await act(
            "do_ping", {"target": target, "size": size, "ttl": ttl, "timeout": timeout}, {}, reason
        )
        return structured(dict(result, CommandID=command_id))

    @server.tool(
        name="snmpwalk",
        title="Walk a MIB subtree",
        annotations=PROBE,
        description=(
            "Walk a MIB subtree of a managed node (or an address inside a known network) through the audited "
            "command path. Returns {items, count, total, truncated, CommandID, Status, Message}; items holds "
            "{Name, OID, Type, Value}; truncated is true when the walk stopped at actions.walk_max_rows. "
            "Credentials: the node's own unless "
            "snmp_mode and community or user/password are given (they travel sealed and are never logged)."
        ),
    )
    async def snmpwalk(
        target: Target,
        mib_object_name: MibObject,
        community: Community = "",
        user: User = "",
        password: Password = "",
        snmp_mode: SnmpMode = "",
        reason: Reason = "",
    ) -> Annotated[CallToolResult, SnmpRows]:
        args = {"target": target, "mib_object_name": mib_object_name, "user": user, "snmp_mode": snmp_mode}
        command_id, result = await act("snmpwalk", args, {"community": community, "password": password}, reason)
        return _snmp_rows(command_id, result)

    @server.tool(
        name="snmpset",
        title="Set a MIB object",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        description=(
            "Set one MIB object on a managed node through the audited command path; the executor allows only "
            "OIDs under actions.snmpset_allow (by default sysContact, sysName, sysLocation). type: integer, "
            "string, oid, ipaddress, counter32, gauge32 or timeticks. Returns the agent's answer as snmpwalk does. "
            "Credentials as for snmpwalk."
        ),
    )
    async def snmpset(
        target: Target,
        mib_object_name: MibObject,
        type: SetType,
        value: Annotated[str, Field(description="The value to set, as text.")],
        community: Community = "",
        user: User = "",
        password: Password = "",
        snmp_mode: SnmpMode = "",
        reason: Reason = "",
    ) -> Annotated[CallToolResult, SnmpRows]:
        args = {
            "target": target,
            "mib_object_name": mib_object_name,
            "type": type,
            "value": value,
            "user": user,
            "snmp_mode": snmp_mode,
        }
        command_id, result = await act("snmpset", args, {"community": community, "password": password}, reason)
        return _snmp_rows(command_id, result)

    @server.tool(
        name="add_node",
        title="Add a node",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
        description=(
            "Add a managed node (and its PING polling) through the audited command path. The IP must lie inside "
            "a known network. Returns the node as {ID, Name, IP, MAC, Icon, Description, X, Y}."
        ),
    )
    async def add_node(
        name: Annotated[str, Field(description="Node name (unique).")],
        ip: Annotated[str, Field(description="IPv4 or IPv6 address.")],
        icon: Annotated[str, Field(description="Map icon.")] = "desktop",
        description: Annotated[str, Field(description="Free text.")] = "",
        x: MapCoordinate = 64,
        y: MapCoordinate = 64,
        reason: Reason = "",
    ) -> Annotated[CallToolResult, NodeResult]:
        args = {"name": name, "ip": ip, "icon": icon, "description": description, "x": x, "y": y}
        _, result = await act("add_node", args, {}, reason)
        return structured(result.get("node", result))

    @server.tool(
        name="update_node",
        title="Change a node",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
        description=(
            "Change a node's name, IP, icon, description or map position through the audited command path; every "
            "field given is applied (the IP too; moving a node that holds an SNMP credential waits for a second "
            "principal's approval). id: the node's ID, current name or current IP. Returns the node."
        ),
    )
    async def update_node(
        id: Annotated[str, Field(description="The node's ID, current name or current IP address.")],
        name: Annotated[str, Field(description="New name; blank keeps it.")] = "",
        ip: Annotated[str, Field(description="New IP address; blank keeps it.")] = "",
        icon: Annotated[str, Field(description="New icon; blank keeps it.")] = "",
        description: Annotated[str, Field(description="New description; blank keeps it.")] = "",
        x: MapCoordinateOrKeep = 0,
        y: MapCoordinateOrKeep = 0,
        reason: Reason = "",
    ) -> Annotated[CallToolResult, NodeResult]:
        args = {"id": id, "name": name, "ip": ip, "icon": icon, "description": description, "x": x, "y": y}
        _, result = await act("update_node", args, {}, reason)
        return structured(result.get("node", result))

    @server.tool(
        name="add_event_log",
        title="Add an event log entry",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
        description=(
            'Add an entry (type mcp) to the event log through the audited command path. Returns {"Result": "ok"}.'
        ),
    )
    async def add_event_log(
        event: Annotated[str, Field(description="The entry's text.")],
        level: EventLevel = "info",
        node: Annotated[str, Field(description="Name of the node the entry is about (optional).")] = "",
        reason: Reason = "",
    ) -> Annotated[CallToolResult, EventAdded]:
        _, result = await act("add_event_log", {"level": level, "node": node, "event": event}, {}, reason)
        return structured({"Result": "ok"} if "event_id" in result else result)

    @server.tool(
        name="get_command_status",
        title="Status of a command",
        annotations=READ_ONLY,
        description=(
            "Status of a command (from an action tool's CommandID): {CommandID, Tool, Actor, Status, Steps: "
            "[{Step, Time, Actor, Reason}], Result}. Status is the latest step: requested, pending_approval, "
            "approved, rejected, denied, executing, executed, failed or timed_out. Only the requester, or a "
            "credential with the approve scope, sees a command."
        ),
    )
    async def get_command_status(
        command_id: Annotated[str, Field(description="The CommandID an action tool returned.")],
    ) -> Annotated[CallToolResult, CommandStatus]:
        command_id = required_text("command_id", command_id)
        steps = await _steps(store, client, command_id)
        who = caller().principal
        requester = next((s.actor for s in steps if s.step == "requested"), "")
        if not steps or (requester != who.name and not who.may(APPROVE)):
            raise ToolError(f"command_id: no command {command_id!r} that this credential may see")
        return structured(_status(command_id, steps))

    async def decide(kind: str, command_id: str, reason: str) -> CallToolResult:
        if client is None:
            raise ToolError(NO_CLIENT)
        command_id = required_text("command_id", command_id)
        try:
            reason = command_args.check_reason(reason)
        except command_args.ArgError as exc:
            raise ToolError(str(exc)) from None
        who = caller()
        decision = Command(
            kind=kind,  # type: ignore[arg-type]
            id=new_id(),
            time_ns=time.time_ns(),
            actor=who.principal.name,
            client=who.client,
            transport=who.transport,
            tool=f"{kind}_command",
            reason=reason,
            target=command_id,
        )
        decided = client.expect(decision.id)
        outcome = client.expect(command_id)
        await client.publish(decision)
        started = time.monotonic()
        answer = await client.wait(decision.id, decided, client.wait_seconds)
        if answer is None or answer.step != "executed":
            _answer(decision.id, answer)
            return structured({"CommandID": decision.id, "Status": "running"})
        if kind == "reject":
            return structured({"CommandID": command_id, "Status": "rejected"})
        left = max(0.1, client.wait_seconds - (time.monotonic() - started))
        result = _answer(command_id, await client.wait(command_id, outcome, left))
        if "Status" in result:
            return structured(result)
        return structured({"CommandID": command_id, "Status": "executed", "Result": result})

    @server.tool(
        name="approve_command",
        title="Approve a command",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
        description=(
            "Approve a command that waits for approval (Status pending_approval); it then runs. Returns {CommandID, "
            "Status, Result} with the tool's result once executed. The requester cannot approve its own command."
        ),
    )
    async def approve_command(
        command_id: Annotated[str, Field(description="The CommandID of the pending command.")], reason: Reason = ""
    ) -> Annotated[CallToolResult, Decision]:
        return await decide("approve", command_id, reason)

    @server.tool(
        name="reject_command",
        title="Reject a command",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
        description="Reject a command that waits for approval; it will not run. The requester cannot reject its own.",
    )
    async def reject_command(
        command_id: Annotated[str, Field(description="The CommandID of the pending command.")], reason: Reason = ""
    ) -> Annotated[CallToolResult, Decision]:
        return await decide("reject", command_id, reason)


def _snmp_rows(command_id: str, result: dict[str, Any]) -> CallToolResult:
    """An SNMP command's answer as SnmpRows; a command without an outcome yet has no rows."""
    rows = result.get("rows", [])
    return structured(
        {
            "items": rows,
            "count": len(rows),
            "total": len(rows),
            "truncated": bool(result.get("truncated")),
            "CommandID": command_id,
            "Status": result.get("Status", "executed"),
            "Message": result.get("Message", ""),
        }
    )


async def _steps(store: Store, client: CommandClient | None, command_id: str) -> list[Step]:
    """A command's steps: from command_audit, and those this service saw that are not projected yet."""
    rows = await store.rows(
        "SELECT kafka_offset, time, step, actor, client, tool, args, reason, result "
        f"FROM {store.database}.{COMMAND_AUDIT} WHERE command_id = {{id:String}} ORDER BY seq",
        {"id": command_id},
    )
    stored = [
        (
            offset,
            Step(
                command_id=command_id,
                step=step,
                time_ns=_ns(when),
                actor=actor,
                client=client_addr,
                tool=tool,
                args=args,
                reason=reason,
                result=result,
            ),
        )
        for offset, when, step, actor, client_addr, tool, args, reason, result in rows
    ]
    return merge_steps(stored, client.recent.get(command_id, []) if client is not None else [])


def _ns(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1e9)


def _status(command_id: str, steps: Sequence[Step]) -> dict[str, Any]:
    requested = next((s for s in steps if s.step == "requested"), None)
    executed = next((s for s in steps if s.step == "executed"), None)
    return {
        "CommandID": command_id,
        "Tool": requested.tool if requested else "",
        "Actor": requested.actor if requested else "",
        "Status": steps[-1].step,
        "Steps": [
            {
                "Step": s.step,
                "Time": rfc3339(datetime.fromtimestamp(s.time_ns / 1e9, UTC)),
                "Actor": s.actor,
                "Reason": s.reason,
            }
            for s in steps
        ],
        "Result": json.loads(executed.result) if executed and executed.result else None,
    }
