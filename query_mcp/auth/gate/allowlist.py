"""The first check: is the client's address allowed to talk to the service at all (403 if not)?

The client is the peer, or, behind a trusted proxy, the address its X-Forwarded-For names (access.py
decides); every later check, the rate limit and the audit record use that address.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from query_mcp.auth import access
from query_mcp.auth.gate.refusal import refuse
from query_mcp.auth.gate.state import Refusal, last_header, state_of


class Allowlist:
    def __init__(
        self, app: ASGIApp, allow_from: tuple[access.Network, ...], trusted_proxies: tuple[access.Network, ...]
    ) -> None:
        self.app = app
        self._allow_from = allow_from
        self._trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = (scope.get("client") or (None,))[0]
        client = access.client_address(peer, last_header(scope, "x-forwarded-for"), self._trusted_proxies)
        state_of(scope).client = client
        if not access.address_allowed(client, self._allow_from):
            await refuse(scope, receive, send, Refusal(403, "forbidden", f"address {client} is not in the allowlist"))
            return
        await self.app(scope, receive, send)
