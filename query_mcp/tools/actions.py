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
from mcp.types import TextContent
from pydantic import Field

from common import sealing
from common.timefmt import rfc3339
from query_mcp.auth.caller import caller
from query_mcp.command_client import CommandClient, new_id
from query_mcp.store import Store
from query_mcp.tools.args import required_text
from query_mcp.tools.results import dumps
from schemas import command_args
from schemas.commands import Command, Step
from schemas.scopes import APPROVE
from schemas.tables import COMMAND_AUDIT

Target = Annotated[str, Field(description="IP address or the name of a managed node.")]
MibObject = Annotated[str, Field(description="MIB object name (sysContact.0, ifDescr, IF-MIB::ifAlias.3) or OID.")]
Community = Annotated[str, Field(description="SNMPv2c community; blank: the node's own credential.")]
User = Annotated[str, Field(description="SNMPv3 user name (with snmp_mode v3auth, v3authpriv or v3authprivex).")]
Password = Annotated[str, Field(description="SNMPv3 password, used for authentication and privacy.")]
SnmpMode = Annotated[
    str, Field(description="v2c, v3auth, v3authpriv or v3authprivex; blank: the node's own credential.")
]
Reason = Annotated[str, Field(description="Why (optional): kept in the command audit.")]
NO_CLIENT = "actions are off here: this MCP service has no broker to send commands to (set NETOBS_KAFKA)"


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
        description=(
            "Ping a managed node or an address inside a known network, through the audited command path. Returns "
            "{Result (ok, timeout, error), Time, RTT, RTTNano, Size, TTL, ResponseFrom, CommandID}."
        ),
    )
    async def do_ping(
        target: Target,
        size: Annotated[int, Field(description="Packet size, 64-1500.")] = 64,
        ttl: Annotated[int, Field(description="IP TTL, 1-254.")] = 254,
        timeout: Annotated[int, Field(description="Seconds to wait, 1-10.")] = 2,
        reason: Reason = "",
    ) -> str:
        command_id, result = await act(
            "do_ping", {"target": target, "size": size, "ttl": ttl, "timeout": timeout}, {}, reason
        )
        return dumps(dict(result, CommandID=command_id))

    @server.tool(
        name="snmpwalk",
        description=(
            "Walk a MIB subtree of a managed node (or an address inside a known network) through the audited "
            "command path. Returns a JSON array of {Name, OID, Type, Value}. Credentials: the node's own unless "
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
    ) -> list[TextContent]:
        args = {"target": target, "mib_object_name": mib_object_name, "user": user, "snmp_mode": snmp_mode}
        _, result = await act("snmpwalk", args, {"community": community, "password": password}, reason)
        if "rows" not in result:
            return [TextContent(type="text", text=dumps(result))]
        content = [TextContent(type="text", text=dumps(result["rows"]))]
        if result.get("truncated"):
            note = f"[netobs: the walk stopped at {len(result['rows'])} rows (actions.walk_max_rows); walk a subtree]"
            content.append(TextContent(type="text", text=note))
        return content

    @server.tool(
        name="snmpset",
        description=(
            "Set one MIB object on a managed node through the audited command path; the executor allows only "
            "OIDs under actions.snmpset_allow (by default sysContact, sysName, sysLocation). type: integer, "
            "string, oid, ipaddress, counter32, gauge32 or timeticks. Returns the agent's answer as a JSON array "
            "of {Name, OID, Type, Value}. Credentials as for snmpwalk."
        ),
    )
    async def snmpset(
        target: Target,
        mib_object_name: MibObject,
        type: Annotated[str, Field(description="integer, string, oid, ipaddress, counter32, gauge32, timeticks.")],
        value: Annotated[str, Field(description="The value to set, as text.")],
        community: Community = "",
        user: User = "",
        password: Password = "",
        snmp_mode: SnmpMode = "",
        reason: Reason = "",
    ) -> str:
        args = {
            "target": target,
            "mib_object_name": mib_object_name,
            "type": type,
            "value": value,
            "user": user,
            "snmp_mode": snmp_mode,
        }
        _, result = await act("snmpset", args, {"community": community, "password": password}, reason)
        return dumps(result.get("rows", result))

    @server.tool(
        name="add_node",
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
        x: Annotated[int, Field(description="Map X, 1-1000.")] = 64,
        y: Annotated[int, Field(description="Map Y, 1-1000.")] = 64,
        reason: Reason = "",
    ) -> str:
        args = {"name": name, "ip": ip, "icon": icon, "description": description, "x": x, "y": y}
        _, result = await act("add_node", args, {}, reason)
        return dumps(result.get("node", result))

    @server.tool(
        name="update_node",
        description=(
            "Change a node's name, IP, icon, description or map position through the audited command path; every "
            "field given is applied (the IP too). id: the node's ID, current name or current IP. Returns the node."
        ),
    )
    async def update_node(
        id: Annotated[str, Field(description="The node's ID, current name or current IP address.")],
        name: Annotated[str, Field(description="New name; blank keeps it.")] = "",
        ip: Annotated[str, Field(description="New IP address; blank keeps it.")] = "",
        icon: Annotated[str, Field(description="New icon; blank keeps it.")] = "",
        description: Annotated[str, Field(description="New description; blank keeps it.")] = "",
        x: Annotated[int, Field(description="New map X, 1-1000; 0 keeps it.")] = 0,
        y: Annotated[int, Field(description="New map Y, 1-1000; 0 keeps it.")] = 0,
        reason: Reason = "",
    ) -> str:
        args = {"id": id, "name": name, "ip": ip, "icon": icon, "description": description, "x": x, "y": y}
        _, result = await act("update_node", args, {}, reason)
        return dumps(result.get("node", result))

    @server.tool(
        name="add_event_log",
        description="Add an entry (type mcp) to the event log through the audited command path. Returns ok.",
    )
    async def add_event_log(
        event: Annotated[str, Field(description="The entry's text.")],
        level: Annotated[str, Field(description="info, normal, warn, low or high.")] = "info",
        node: Annotated[str, Field(description="Name of the node the entry is about (optional).")] = "",
        reason: Reason = "",
    ) -> str:
        _, result = await act("add_event_log", {"level": level, "node": node, "event": event}, {}, reason)
        return "ok" if "event_id" in result else dumps(result)

    @server.tool(
        name="get_command_status",
        description=(
            "Status of a command (from an action tool's CommandID): {CommandID, Tool, Actor, Status, Steps: "
            "[{Step, Time, Actor, Reason}], Result}. Status is the latest step: requested, pending_approval, "
            "approved, rejected, denied, executing, executed, failed or timed_out. Only the requester, or a "
            "credential with the approve scope, sees a command."
        ),
    )
    async def get_command_status(
        command_id: Annotated[str, Field(description="The CommandID an action tool returned.")],
    ) -> str:
        command_id = required_text("command_id", command_id)
        steps = await _steps(store, client, command_id)
        who = caller().principal
        requester = next((s.actor for s in steps if s.step == "requested"), "")
        if not steps or (requester != who.name and not who.may(APPROVE)):
            raise ToolError(f"command_id: no command {command_id!r} that this credential may see")
        return dumps(_status(command_id, steps))

    async def decide(kind: str, command_id: str, reason: str) -> str:
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
            return dumps({"CommandID": decision.id, "Status": "running"})
        if kind == "reject":
            return dumps({"CommandID": command_id, "Status": "rejected"})
        left = max(0.1, client.wait_seconds - (time.monotonic() - started))
        result = _answer(command_id, await client.wait(command_id, outcome, left))
        if "Status" in result:
            return dumps(result)
        return dumps({"CommandID": command_id, "Status": "executed", "Result": result})

    @server.tool(
        name="approve_command",
        description=(
            "Approve a command that waits for approval (Status pending_approval); it then runs. Returns {CommandID, "
            "Status, Result} with the tool's result once executed. The requester cannot approve its own command."
        ),
    )
    async def approve_command(
        command_id: Annotated[str, Field(description="The CommandID of the pending command.")], reason: Reason = ""
    ) -> str:
        return await decide("approve", command_id, reason)

    @server.tool(
        name="reject_command",
        description="Reject a command that waits for approval; it will not run. The requester cannot reject its own.",
    )
    async def reject_command(
        command_id: Annotated[str, Field(description="The CommandID of the pending command.")], reason: Reason = ""
    ) -> str:
        return await decide("reject", command_id, reason)


async def _steps(store: Store, client: CommandClient | None, command_id: str) -> list[Step]:
    """A command's steps: from command_audit, or from the steps this service saw when not projected yet."""
    rows = await store.rows(
        f"SELECT time, step, actor, client, tool, args, reason, result FROM {store.database}.{COMMAND_AUDIT} "
        "WHERE command_id = {id:String} ORDER BY seq",
        {"id": command_id},
    )
    stored = [
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
        )
        for when, step, actor, client_addr, tool, args, reason, result in rows
    ]
    seen = list(client.recent.get(command_id, [])) if client is not None else []
    return seen if len(seen) > len(stored) else stored


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
