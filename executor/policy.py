"""What the executor lets a command do, before anything leaves the machine. Pure.

A command is denied when its target is neither a managed node nor inside a network netobs knows of (the
inventory's networks and actions.networks), when snmpset would write an OID outside the allow list or
inside the deny list (deny wins), or when its requester has used up the per-minute rate. Tools named in
actions.approval_tools wait for a second principal's approval instead of running, and so does an update_node
that moves a node holding an SNMP credential to another address (unless actions.approve_credential_moves is
off): the credential follows the node, so one write token could otherwise point a read-write community at
any address inside a managed network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from common.config import ActionsConfig
from executor.inventory import Inventory
from schemas.inventory import Node

RATE_WINDOW_NS = 60 * 10**9
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Policy:
    networks: tuple[Network, ...]
    set_allow: tuple[str, ...]
    set_deny: tuple[str, ...]
    rate_per_actor: int
    """Accepted commands per actor per minute; 0 for no limit."""
    approval_tools: frozenset[str]
    approval_timeout_ns: int
    approve_credential_moves: bool = True


def from_config(actions: ActionsConfig) -> Policy:
    return Policy(
        networks=tuple(ipaddress.ip_network(n, strict=False) for n in actions.networks),
        set_allow=tuple(o.strip(".") for o in actions.snmpset_allow),
        set_deny=tuple(o.strip(".") for o in actions.snmpset_deny),
        rate_per_actor=actions.rate_per_actor,
        approval_tools=frozenset(actions.approval_tools),
        approval_timeout_ns=int(actions.approval_timeout_s * 1e9),
        approve_credential_moves=actions.approve_credential_moves,
    )


def under(oid: str, prefix: str) -> bool:
    """Is oid the prefix itself or below it (whole arcs: 1.3.6.1.2.1.1.4 is not under 1.3.6.1.2.1.1.40)?"""
    return oid == prefix or oid.startswith(prefix + ".")


def oid_refusal(oid: str, policy: Policy) -> str | None:
    """Why snmpset may not write oid, or None."""
    denied = next((p for p in policy.set_deny if under(oid, p)), None)
    if denied is not None:
        return f"OID {oid} is under {denied}, which actions.snmpset_deny forbids"
    if not any(under(oid, p) for p in policy.set_allow):
        return f"OID {oid} is not under any prefix of actions.snmpset_allow ({', '.join(policy.set_allow) or 'none'})"
    return None


class NotFound(LookupError):
    """A target or node reference matches nothing in the inventory."""


def find_node(ref: str, inventory: Inventory) -> Node | None:
    """A node by id, else by name, else by IP address (update_node's id argument; snmp/ping targets)."""
    if ref in inventory.nodes:
        return inventory.nodes[ref]
    by_name = [n for n in inventory.nodes.values() if n.name == ref]
    if by_name:
        return min(by_name, key=lambda n: n.id)
    by_ip = [n for n in inventory.nodes.values() if n.ip == ref]
    return min(by_ip, key=lambda n: n.id) if by_ip else None


def resolve_target(target: str, inventory: Inventory) -> tuple[str, Node | None]:
    """(IP address, managed node or None) of a target given as an address or a node's name."""
    try:
        ip = str(ipaddress.ip_address(target))
    except ValueError:
        node = find_node(target, inventory)
        if node is None:
            raise NotFound(f"target {target!r} is neither an IP address nor the name of a managed node") from None
        return node.ip, node
    managed = [n for n in inventory.nodes.values() if n.ip == ip]
    return ip, (min(managed, key=lambda n: n.id) if managed else None)


def address_refusal(ip: str, inventory: Inventory, policy: Policy) -> str | None:
    """Why an address that is not a managed node's may not be acted on, or None when a network holds it."""
    address = ipaddress.ip_address(ip)
    for network in inventory.networks.values():
        try:
            if address in ipaddress.ip_network(network.ip, strict=False):
                return None
        except ValueError:
            continue
    if any(address in n for n in policy.networks):
        return None
    return f"target {ip} is not a managed node and not inside an inventory network or actions.networks"


def rate_refusal(times: Sequence[int], now_ns: int, limit: int) -> str | None:
    """Why one more command is too many (limit per minute; times of the actor's accepted commands), or None."""
    if limit <= 0:
        return None
    recent = sum(1 for t in times if now_ns - RATE_WINDOW_NS < t <= now_ns)
    if recent >= limit:
        return f"rate limit: {recent} commands in the last minute (actions.rate_per_actor is {limit})"
    return None


Verdict = Literal["run", "approve", "deny"]


@dataclass(frozen=True)
class Review:
    verdict: Verdict
    reason: str = ""
    ip: str = ""
    """The address acted on (snmp, ping, add_node), once resolved."""
    node: Node | None = None


def review(
    tool: str,
    args: dict[str, Any],
    inventory: Inventory,
    policy: Policy,
    actor_times: Sequence[int],
    now_ns: int,
) -> Review:
    """The verdict on a request with checked arguments (schemas.command_args.check)."""
    ip, node = "", None
    try:
        if tool in ("do_ping", "snmpwalk", "snmpset"):
            ip, node = resolve_target(args["target"], inventory)
            refusal = None if node is not None else address_refusal(ip, inventory, policy)
        elif tool == "add_node":
            ip = args["ip"]
            refusal = address_refusal(ip, inventory, policy)
        elif tool == "update_node":
            node = find_node(args["id"], inventory)
            if node is None:
                raise NotFound(f"id: no node with the id, name or IP address {args['id']!r}")
            new_ip = args.get("ip", node.ip)
            refusal = None if new_ip == node.ip else address_refusal(new_ip, inventory, policy)
        else:
            refusal = None
    except NotFound as exc:
        return Review("deny", str(exc))
    if refusal is None and tool == "snmpset":
        refusal = oid_refusal(args["oid"], policy)
    if refusal is None:
        refusal = rate_refusal(actor_times, now_ns, policy.rate_per_actor)
    if refusal is not None:
        return Review("deny", refusal, ip, node)
    if tool in policy.approval_tools:
        return Review("approve", f"{tool} needs a second principal's approval", ip, node)
    moved = credential_move(tool, args, node, policy)
    if moved is not None:
        return Review("approve", moved, ip, node)
    return Review("run", "", ip, node)


def credential_move(tool: str, args: dict[str, Any], node: Node | None, policy: Policy) -> str | None:
    """Why an update_node needs approval because it moves a node's SNMP credential to another address, or None."""
    if tool != "update_node" or node is None or not policy.approve_credential_moves or not node.snmp_credential:
        return None
    new_ip = args.get("ip", node.ip)
    if new_ip == node.ip:
        return None
    return (
        f"update_node moves node {node.name!r} and its SNMP credential {node.snmp_credential!r} from {node.ip} "
        f"to {new_ip}: a second principal must approve (actions.approve_credential_moves)"
    )
