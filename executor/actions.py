"""Carrying out a reviewed command: SNMP and ICMP towards the target, or events for the inventory and event log.

Every action is written so that doing it again after a crash has no second effect: inventory changes
and event log entries get ids derived from the command, and a set found already in place on recovery
is not sent again (see perform's recovering).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from common.config import ActionsConfig
from common.snmp.credentials import SnmpCredential
from executor import inventory, ping, snmp
from executor.policy import Review
from executor.snmp import ActionFailed
from schemas.commands import Command
from schemas.events import Event
from schemas.inventory import InventoryEvent, Node


@dataclass
class Context:
    """What actions may use: the inventory as the executor sees it, credentials, settings, and publishers."""

    inventory: inventory.Inventory
    credentials: Mapping[str, SnmpCredential]
    settings: ActionsConfig
    publish_inventory: Callable[[list[InventoryEvent]], Awaitable[None]]
    publish_event: Callable[[Event], Awaitable[None]]


def node_fields(node: Node) -> dict[str, Any]:
    """A node as the MCP tools show it (TWSNMP FK's names)."""
    return {
        "ID": node.id,
        "Name": node.name,
        "IP": node.ip,
        "MAC": node.mac,
        "Icon": node.icon,
        "Description": node.description,
        "X": node.x,
        "Y": node.y,
    }


def same_value(shown: str, set_type: str, value: str) -> bool:
    """Does the agent's value (as rendered) equal the value a set asked for?"""
    if set_type in ("integer", "counter32", "gauge32", "timeticks"):
        try:
            return int(shown) == int(value, 0)
        except ValueError:
            return False
    return shown.strip(".") == value.strip(".") if set_type == "oid" else shown == value


def credential(args: Mapping[str, Any], secrets: Mapping[str, str], review: Review, ctx: Context) -> SnmpCredential:
    """The credential given with the command, else the target node's own (by name from the credentials file)."""
    mode = args.get("snmp_mode", "")
    if mode or secrets.get("community") or secrets.get("password"):
        try:
            return snmp.credential_for(
                mode or "v2c", secrets.get("community", ""), args.get("user", ""), secrets.get("password", "")
            )
        except ValueError as exc:
            raise ActionFailed(str(exc)) from None
    node = review.node
    if node is None:
        raise ActionFailed(
            f"target {review.ip} is not a managed node, so it has no credential: give snmp_mode with community, "
            "or user and password"
        )
    if not node.snmp_credential:
        raise ActionFailed(f"node {node.name} has no SNMP credential; give snmp_mode with community or user/password")
    found = ctx.credentials.get(node.snmp_credential)
    if found is None:
        raise ActionFailed(f"node {node.name} names the credential {node.snmp_credential!r}, which is not defined")
    return found


async def perform(
    command: Command,
    args: dict[str, Any],
    secrets: Mapping[str, str],
    review: Review,
    ctx: Context,
    recovering: bool,
) -> dict[str, Any]:
    """Act, and return the result; ActionFailed or ActionTimeout when the action could not be done.

    recovering: the command was being executed when the executor stopped; its effect may already be there.
    """
    s = ctx.settings
    tool = command.tool
    if tool == "do_ping":
        return await ping.ping(review.ip, size=args["size"], ttl=args["ttl"], timeout=args["timeout"])
    if tool in ("snmpwalk", "snmpset"):
        cred = credential(args, secrets, review, ctx)
        timeout, retries = s.snmp_timeout_s, s.snmp_retries
        if tool == "snmpwalk":
            rows, truncated = await snmp.snmp_walk(
                review.ip, s.snmp_port, cred, args["oid"], timeout=timeout, retries=retries, max_rows=s.walk_max_rows
            )
            return {"rows": rows, "truncated": truncated}
        if recovering:
            current = await snmp.snmp_get(review.ip, s.snmp_port, cred, [args["oid"]], timeout=timeout, retries=retries)
            if current and same_value(current[0]["Value"], args["type"], args["value"]):
                return {"rows": current, "recovered": True}
        # Sent once: a retried set whose answer was lost would act twice, so the retries' time goes to one wait.
        rows = await snmp.snmp_set(
            review.ip,
            s.snmp_port,
            cred,
            args["oid"],
            args["type"],
            args["value"],
            timeout=timeout * (1 + retries),
            retries=0,
        )
        return {"rows": rows}
    if tool == "add_node":
        return await _add_node(command, args, ctx, recovering)
    if tool == "update_node":
        return await _update_node(command, args, review, ctx)
    if tool == "add_event_log":
        return await _add_event(command, args, ctx)
    raise ActionFailed(f"unknown tool {tool!r}")


async def _add_node(command: Command, args: dict[str, Any], ctx: Context, recovering: bool) -> dict[str, Any]:
    node = Node(
        id=inventory.node_id(args["name"]),
        name=args["name"],
        ip=args["ip"],
        icon=args["icon"],
        description=args["description"],
        x=args["x"],
        y=args["y"],
    )
    existing = ctx.inventory.nodes.get(node.id)
    if existing is not None and not (recovering and existing == node):
        raise ActionFailed(f"name: a node named {node.name!r} exists (ID {node.id}); use update_node to change it")
    if existing is None:
        await ctx.publish_inventory(inventory.node_events(node, f"mcp:{command.actor}", command.time_ns, ctx.inventory))
    return {"node": node_fields(node)}


async def _update_node(command: Command, args: dict[str, Any], review: Review, ctx: Context) -> dict[str, Any]:
    if review.node is None:
        raise ActionFailed(f"id: no node with the id, name or IP address {args['id']!r}")
    current = ctx.inventory.nodes.get(review.node.id, review.node)
    changes = {k: v for k, v in args.items() if k in ("name", "ip", "icon", "description", "x", "y")}
    if "name" in changes:
        clash = [n for n in ctx.inventory.nodes.values() if n.name == changes["name"] and n.id != current.id]
        if clash:
            raise ActionFailed(f"name: another node is named {changes['name']!r} (ID {clash[0].id})")
    updated = msgspec.structs.replace(current, **changes)
    if updated != current:
        await ctx.publish_inventory([inventory.upsert_event(updated, f"mcp:{command.actor}", command.time_ns)])
    return {"node": node_fields(updated)}


async def _add_event(command: Command, args: dict[str, Any], ctx: Context) -> dict[str, Any]:
    node = next((n for n in ctx.inventory.nodes.values() if args["node"] and n.name == args["node"]), None)
    event = Event(
        id=hashlib.blake2b(f"mcp\x1f{command.id}".encode(), digest_size=16).hexdigest(),
        time_ns=command.time_ns,
        type="mcp",
        level=args["level"],
        last_level="",
        node_id=node.id if node else "",
        node_name=args["node"],
        event=args["event"],
        downtime_s=0.0,
    )
    await ctx.publish_event(event)
    return {"event_id": event.id}
