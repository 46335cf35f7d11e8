"""What the gate's middlewares learn about one request, kept in one GateState under one ASGI scope key.

The outermost middleware (outcomes) puts it there; each middleware after it reads what came before and
adds what it finds (the client's address, the principal, the body, the tool called, a refusal), and the
outermost one reads it all back to audit and count the request. Behind the gate the MCP guard and
/tool-digests read the principal, client and transport from it. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from starlette.datastructures import Headers
from starlette.types import Scope

from query_mcp.auth.scopes import Principal

STATE_KEY = "netobs.gate"
"""The scope key of a request's GateState (namespaced, as the ASGI spec asks of extensions)."""
METADATA_PATH = "/.well-known/oauth-protected-resource"
SSE_PATH = "/sse"
MESSAGES_PATH = "/messages"

Route = Literal["open", "metrics", "digests", "mcp"]
"""Which part of the surface a request is for, which decides the checks it meets: open (/healthz and the
RFC 9728 metadata: allowlist only), metrics (/metrics, per its exposure setting), digests (/tool-digests:
a credential, no body) and mcp (everything else: every check)."""


@dataclass(frozen=True)
class Refusal:
    """Why a middleware refused a request: HTTP status, error code, a detail a client can read, and the
    headers that tell it what to do (WWW-Authenticate, Retry-After)."""

    status: int
    error: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class GateState:
    """One request as the gate sees it; filled in as the request passes each middleware."""

    route: Route
    transport: str
    """http, or sse for the legacy SSE endpoints."""
    method: str
    """What the audit record names: "POST /mcp", or "tools/call" once a tool call is found in the body."""
    client: str | None = None
    principal: Principal | None = None
    body: bytes = b""
    tool: str = ""
    arguments: object = None
    refusal: Refusal | None = None


def route_of(path: str) -> Route:
    if path == "/healthz" or path.startswith(METADATA_PATH):
        return "open"
    if path == "/metrics":
        return "metrics"
    if path == "/tool-digests":
        return "digests"
    return "mcp"


def new_state(scope: Scope) -> GateState:
    """The state of a request that has just arrived."""
    path = scope.get("path", "")
    transport = "sse" if path.startswith(MESSAGES_PATH) or path == SSE_PATH else "http"
    return GateState(route=route_of(path), transport=transport, method=f"{scope.get('method')} {path}")


def state_of(scope: Scope) -> GateState:
    """The request's state, for the middlewares after outcomes (which always put one there)."""
    return scope[STATE_KEY]


def last_header(scope: Scope, name: str) -> str | None:
    """The last value of a request header: of repeated X-Forwarded-For lines a proxy's own comes last, and
    the gate reads every header that way so that no check sees a different one than another."""
    values = Headers(scope=scope).getlist(name)
    return values[-1] if values else None
