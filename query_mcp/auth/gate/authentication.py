"""Who is calling: the bearer credential of every request that needs one, or 401.

A 401 carries WWW-Authenticate naming the RFC 9728 protected-resource metadata (built here, served by the
app), so an OAuth client can find the authorization server. /healthz, the metadata, and /metrics unless
its exposure is "token", need no credential. The credential is never logged, kept or passed on: only the
principal it stands for goes into the request's GateState.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from query_mcp.auth import access, scopes
from query_mcp.auth.gate.refusal import refuse
from query_mcp.auth.gate.state import METADATA_PATH, GateState, Refusal, last_header, state_of
from query_mcp.auth.scopes import Principal

Authenticate = Callable[[str], tuple[Principal | None, str]]
"""A presented credential -> (its principal, or None and why not); credentials.Authenticator is one."""


def protected_resource_metadata(resource_url: str, authorization_servers: tuple[str, ...]) -> dict[str, Any]:
    """RFC 9728 protected-resource metadata of the MCP endpoint."""
    return {
        "resource": resource_url,
        "authorization_servers": list(authorization_servers),
        "bearer_methods_supported": ["header"],
        "scopes_supported": sorted(scopes.ALL_SCOPES),
        "resource_name": "netobs MCP",
    }


def metadata_url(resource_url: str) -> str:
    """Where RFC 9728 puts the metadata of a resource: the well-known path, then the resource's path."""
    scheme, _, rest = resource_url.partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme}://{host}{METADATA_PATH}" + (f"/{path}" if path else "")


class Authentication:
    def __init__(self, app: ASGIApp, authenticate: Authenticate, resource_url: str, metrics_access: str) -> None:
        self.app = app
        self._authenticate = authenticate
        self._challenge = f'Bearer realm="netobs", resource_metadata="{metadata_url(resource_url)}"'
        self._metrics_access = metrics_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_credential(state := state_of(scope)):
            await self.app(scope, receive, send)
            return
        presented = access.bearer_token(last_header(scope, "authorization"))
        if presented is None:
            detail = "a bearer credential is required (Authorization: Bearer <token>)"
            refusal = Refusal(401, "unauthorized", detail, {"WWW-Authenticate": self._challenge})
            await refuse(scope, receive, send, refusal)
            return
        principal, reason = self._authenticate(presented)
        if principal is None:
            challenge = f'{self._challenge}, error="invalid_token", error_description="{reason}"'
            refusal = Refusal(401, "invalid_token", f"credential refused: {reason}", {"WWW-Authenticate": challenge})
            await refuse(scope, receive, send, refusal)
            return
        state.principal = principal
        await self.app(scope, receive, send)

    def _needs_credential(self, state: GateState) -> bool:
        return state.route != "open" and (state.route != "metrics" or self._metrics_access == "token")
