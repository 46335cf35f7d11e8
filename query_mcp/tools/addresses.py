"""get_ip_address_list, get_ip_address_info, get_mac_address_info: what the ARP tables of polled agents,
the inventory and the IEEE OUI list say about an address.

Unlike TWSNMP FK, get_ip_address_info does no reverse DNS, geolocation or RDAP lookup: the service
answers from what is stored, and a lookup that leaves the host cannot be bounded or trusted here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import address_queries as q
from query_mcp.store import Store
from query_mcp.tools import oui
from query_mcp.tools.args import LIST_CAP, READ_ONLY, regex_filters, required_text
from query_mcp.tools.results import Listing, listing, structured


class AddressEntry(TypedDict):
    IP: str
    MAC: str
    Node: str
    Vendor: str
    FirstTime: str
    LastTime: str
    NodeID: str
    LearntFrom: str


class MacSeen(TypedDict):
    MAC: str
    Vendor: str
    FirstTime: str
    LastTime: str
    LearntFrom: str


class IPInfo(TypedDict):
    IP: str
    Node: str
    NodeID: str
    MAC: str
    Vendor: str
    MACs: list[MacSeen]
    FirstTime: str
    LastTime: str
    AddressType: str
    Found: bool
    Note: str


class IPSeen(TypedDict):
    IP: str
    FirstTime: str
    LastTime: str
    LearntFrom: str


class MACInfo(TypedDict):
    MAC: str
    Node: str
    IP: str
    Vendor: str
    NodeID: str
    IPs: list[IPSeen]
    LocallyAdministered: bool
    Found: bool
    Note: str


def register(server: MCPServer, store: Store) -> None:
    """Add the address tools to the server."""

    @server.tool(
        name="get_ip_address_list",
        title="List IP addresses",
        annotations=READ_ONLY,
        description=(
            "List IP addresses learnt from the ARP tables of polled agents. Returns {items, count, total, "
            "truncated}; items holds {IP, MAC, "
            "Node, Vendor, FirstTime, LastTime, NodeID, LearntFrom} in address order, one entry per IP and MAC; "
            "Node is the managed node with that IP, Vendor the maker of the MAC (IEEE OUI), LearntFrom the ID of "
            "the node whose ARP table showed the pair last. "
            f"limit is 1-{LIST_CAP} (default 1000)."
        ),
    )
    async def get_ip_address_list(
        ip_filter: Annotated[str, Field(description="Regular expression (RE2) on the IP address; blank for all.")] = "",
        mac_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the MAC address as stored; blank for all.")
        ] = "",
        limit: Annotated[
            int, Field(ge=1, le=LIST_CAP, description=f"Maximum entries returned, 1-{LIST_CAP} (default 1000).")
        ] = 1000,
    ) -> Annotated[CallToolResult, Listing[AddressEntry]]:
        filters = await regex_filters(store, ip_filter=ip_filter, mac_filter=mac_filter)
        rows = await store.rows(*q.ip_list_sql(store.database, filters, limit))
        return listing(
            [
                {
                    "IP": ip,
                    "MAC": _mac_text(mac),
                    "Node": node or "",
                    "Vendor": oui.vendor(mac),
                    "FirstTime": rfc3339(first),
                    "LastTime": rfc3339(last),
                    "NodeID": node_id or "",
                    "LearntFrom": learnt_from,
                }
                for ip, mac, first, last, learnt_from, node, node_id in rows
            ]
        )

    @server.tool(
        name="get_ip_address_info",
        title="Look up an IP address",
        annotations=READ_ONLY,
        description=(
            "What netobs knows of one IP address. Returns a JSON object {IP, Node, NodeID, MAC, Vendor, MACs, "
            "FirstTime, LastTime, AddressType, Found, Note}: Node is the managed node with the address; MAC the "
            "MAC most recently seen with it in ARP tables and Vendor its maker; MACs every MAC seen "
            "[{MAC, Vendor, FirstTime, LastTime, LearntFrom}]; AddressType loopback, private, link-local, "
            "multicast, reserved, unspecified or global. Found is false (and Note says so) when the address is "
            "neither a node nor in any ARP table. No DNS, geolocation or RDAP lookups are made."
        ),
    )
    async def get_ip_address_info(
        ip: Annotated[str, Field(description="The IPv4 or IPv6 address, e.g. 192.0.2.10.")],
    ) -> Annotated[CallToolResult, IPInfo]:
        address = _ip_argument(ip)
        macs = await store.rows(*q.macs_of_ip_sql(store.database, address))
        nodes = await store.rows(*q.nodes_of_ip_sql(store.database, address))
        found = bool(macs or nodes)
        node_id, node_name, node_mac = nodes[0] if nodes else ("", "", "")
        latest_mac = macs[0][0] if macs else node_mac
        return structured(
            {
                "IP": address,
                "Node": node_name,
                "NodeID": node_id,
                "MAC": _mac_text(latest_mac),
                "Vendor": oui.vendor(latest_mac),
                "MACs": [
                    {
                        "MAC": _mac_text(mac),
                        "Vendor": oui.vendor(mac),
                        "FirstTime": rfc3339(first),
                        "LastTime": rfc3339(last),
                        "LearntFrom": learnt_from,
                    }
                    for mac, first, last, learnt_from in macs
                ],
                "FirstTime": rfc3339(min(row[1] for row in macs)) if macs else "",
                "LastTime": rfc3339(max(row[2] for row in macs)) if macs else "",
                "AddressType": address_type(address),
                "Found": found,
                "Note": "" if found else f"{address} is not a managed node and has not been seen in any ARP table",
            }
        )

    @server.tool(
        name="get_mac_address_info",
        title="Look up a MAC address",
        annotations=READ_ONLY,
        description=(
            "What netobs knows of one MAC address. Returns a JSON object {MAC, Node, IP, Vendor, NodeID, IPs, "
            "LocallyAdministered, Found, Note}: MAC in the form 00:00:0C:12:34:56; Node the managed node with "
            "this MAC (else with one of its IPs); IP that node's address, else the IP most recently seen with the "
            "MAC; Vendor the maker from the IEEE OUI list (blank when unassigned); IPs every IP seen with it in "
            "ARP tables [{IP, FirstTime, LastTime, LearntFrom}]; LocallyAdministered true for addresses set by "
            "software (VMs, randomised Wi-Fi), which have no maker. Found is false (and Note says so) when the "
            "MAC is neither a node's nor in any ARP table."
        ),
    )
    async def get_mac_address_info(
        mac: Annotated[
            str, Field(description="The MAC address: 00:00:0c:12:34:56, 00-00-0C-12-34-56 or 0000.0c12.3456.")
        ],
    ) -> Annotated[CallToolResult, MACInfo]:
        digits = _mac_argument(mac)
        ips = await store.rows(*q.ips_of_mac_sql(store.database, digits))
        nodes = await store.rows(*q.nodes_of_mac_sql(store.database, digits, [row[0] for row in ips]))
        found = bool(ips or nodes)
        node = _node_of_mac(nodes)
        canonical = oui.canonical(digits)
        return structured(
            {
                "MAC": canonical,
                "Node": node["name"],
                "IP": node["ip"] if node["by_mac"] else (ips[0][0] if ips else node["ip"]),
                "Vendor": oui.vendor(digits),
                "NodeID": node["id"],
                "IPs": [
                    {"IP": ip, "FirstTime": rfc3339(first), "LastTime": rfc3339(last), "LearntFrom": learnt_from}
                    for ip, first, last, learnt_from in ips
                ],
                "LocallyAdministered": oui.locally_administered(digits),
                "Found": found,
                "Note": "" if found else f"{canonical} is not a managed node's and has not been seen in any ARP table",
            }
        )


def address_type(address: str) -> str:
    """A coarse scope of an address, most specific first (loopback and link-local are private too)."""
    ip = ipaddress.ip_address(address)
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("global", ip.is_global),
    ):
        if flag:
            return kind
    return "reserved"


def _ip_argument(text: str) -> str:
    """The canonical text of an address (as stored): 192.0.2.1, 2001:db8::1."""
    text = required_text("ip", text)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ToolError(f"ip: {text[:64]!r} is not an IPv4 or IPv6 address") from None


def _mac_argument(text: str) -> str:
    text = required_text("mac", text)
    try:
        return oui.mac_hex(text)
    except oui.MACError:
        raise ToolError(
            f"mac: {text[:64]!r} is not a MAC address; accepted: 00:00:0c:12:34:56, 00-00-0C-12-34-56, "
            "0000.0c12.3456, 00000c123456"
        ) from None


def _mac_text(mac: str) -> str:
    """A stored MAC in the canonical form; as stored if it is not one."""
    try:
        return oui.canonical(mac)
    except oui.MACError:
        return mac


def _node_of_mac(nodes: Sequence[Sequence[Any]]) -> dict[str, Any]:
    if not nodes:
        return {"id": "", "name": "", "ip": "", "by_mac": False}
    node_id, name, ip, by_mac = nodes[0]
    return {"id": node_id, "name": name, "ip": ip, "by_mac": bool(by_mac)}
