"""Who may talk to the MCP service: an IP/CIDR allowlist, then a bearer token. Pure checks, thin ASGI.

The token is compared in constant time (digests of equal length, hmac.compare_digest), so neither its
content nor its length leaks through timing, and a substring or superstring of it is just a wrong token.
Refusals are JSON an agent or operator can read; the token itself is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs -> networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def address_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    """True when the peer address is inside one of the networks (IPv4-mapped IPv6 counts as IPv4)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def token_digest(token: str) -> bytes:
    """What the service keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


def bearer_ok(authorization: str | None, expected_digest: bytes) -> bool:
    """Constant-time check of an `Authorization: Bearer <token>` header against the expected digest."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    return hmac.compare_digest(token_digest(presented.strip()), expected_digest)


class AccessMiddleware:
    """ASGI middleware: refuse with 403 outside the allowlist, 401 without the right bearer token."""

    def __init__(
        self, app: Any, token: str, allow_from: Iterable[str], open_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self._digest = token_digest(token)
        self._networks = parse_networks(allow_from)
        self._open_paths = frozenset(open_paths)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else None
        if not address_allowed(peer, self._networks):
            log.warning(
                "refused %s %s from %s: address not allowed", scope.get("method"), scope.get("path"), peer
            )
            await _refuse(send, 403, "forbidden", f"address {peer} is not in the allowlist", {})
            return
        if scope.get("path") not in self._open_paths:
            headers = dict(scope.get("headers") or [])
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            if not bearer_ok(authorization, self._digest):
                log.warning(
                    "refused %s %s from %s: bad or missing token",
                    scope.get("method"),
                    scope.get("path"),
                    peer,
                )
                challenge = 'Bearer realm="netobs"' + (', error="invalid_token"' if authorization else "")
                await _refuse(
                    send,
                    401,
                    "invalid_token" if authorization else "unauthorized",
                    "a valid bearer token is required (Authorization: Bearer <token>)",
                    {b"www-authenticate": challenge.encode()},
                )
                return
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, error: str, detail: str, extra: dict[bytes, bytes]) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.extend(extra.items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
