"""Network-level checks of the MCP service: which addresses may talk, who the client really is, and how
the bearer credential is read from the request. Pure functions; the gate's allowlist and authentication
middlewares (query_mcp.auth.gate) use them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs -> networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def address_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    """True when the address is inside one of the networks (IPv4-mapped IPv6 counts as IPv4)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy that says whom it forwards.

    X-Forwarded-For is read right to left, skipping trusted proxies; the first other address is the
    client. From an untrusted peer the header is ignored, so it cannot be used to pose as an allowed
    address; a malformed hop makes the peer the client.
    """
    if not forwarded_for or not trusted or not address_allowed(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not address_allowed(hop, trusted):
            return hop
    return hops[0] if hops else peer


def bearer_token(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented or " " in presented:
        return None
    return presented
