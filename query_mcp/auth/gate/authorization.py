"""What an authenticated caller may reach: the tools its scopes allow, its own SSE sessions, /metrics.

- A tools/call (alone or in a batch) of a tool outside the credential's scopes: 403 insufficient_scope,
  before the MCP server sees it (the MCP guard refuses it again, as a tool error, behind this); within its
  scopes, each principal and tool has a rate (429 + Retry-After).
- A message for a legacy SSE session opened by another credential: 403. The owner of each session is
  noted from the endpoint event of the /sse stream that opened it.
- /metrics: 404 when its exposure is "off", and the metrics scope when it is "token".
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_mcp.auth import scopes
from query_mcp.auth.gate.refusal import refuse, retry_after
from query_mcp.auth.gate.state import MESSAGES_PATH, SSE_PATH, GateState, Refusal, state_of
from query_mcp.auth.ratelimit import RateLimiter
from query_mcp.auth.scopes import Principal
from schemas.scopes import METRICS

MAX_SSE_SESSIONS = 10_000
"""Beyond this many SSE sessions the oldest owner is forgotten."""


def messages(body: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a body (one, or a batch); unparseable bodies are left to the SDK to reject."""
    if not body:
        return []
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [m for m in items if isinstance(m, dict)]


def session_in(chunk: bytes) -> str | None:
    """The session id an SSE endpoint event announces ("...?session_id=<id>"), if this chunk holds one."""
    text = chunk.decode("utf-8", errors="ignore")
    marker = text.find("session_id=")
    if marker < 0:
        return None
    return text[marker + len("session_id=") :].split()[0].strip()


def insufficient_scope(needed: str, detail: str) -> Refusal:
    challenge = f'Bearer realm="netobs", error="insufficient_scope", scope="{needed}"'
    return Refusal(403, "insufficient_scope", detail, {"WWW-Authenticate": challenge})


class Authorization:
    """Holds the per-tool token buckets and the owner of each SSE session."""

    def __init__(self, app: ASGIApp, rate_per_tool: float, metrics_access: str) -> None:
        self.app = app
        self._per_tool = RateLimiter(rate_per_tool, max(1.0, 2 * rate_per_tool))
        self._metrics_access = metrics_access
        self._sse_owner: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = state_of(scope)
        if state.route == "metrics":
            refused = self._metrics_check(state)
        elif state.route == "mcp":
            refused = self._mcp_check(scope, state)
        else:
            refused = None
        if refused is not None:
            await refuse(scope, receive, send, refused)
            return
        if scope.get("path") == SSE_PATH and state.principal is not None:
            send = self._noting_sessions(send, state.principal)
        await self.app(scope, receive, send)

    def _metrics_check(self, state: GateState) -> Refusal | None:
        if self._metrics_access == "off":
            return Refusal(404, "not_found", "metrics are off (NETOBS_MCP_METRICS)")
        if self._metrics_access == "token" and not (state.principal and state.principal.may(METRICS)):
            return insufficient_scope(METRICS, "/metrics needs the metrics scope")
        return None

    def _mcp_check(self, scope: Scope, state: GateState) -> Refusal | None:
        """The first refusal of an MCP request, noting in state the tool call it refuses (or the last one)."""
        principal = state.principal
        if principal is None:
            raise RuntimeError("authorization needs the principal: authentication must come before it")
        if scope.get("path", "").startswith(MESSAGES_PATH) and not self._owns_session(scope, principal):
            return Refusal(403, "forbidden", "this SSE session belongs to another credential")
        for message in messages(state.body):
            if message.get("method") != "tools/call":
                continue
            raw = message.get("params")
            params: dict[str, Any] = raw if isinstance(raw, dict) else {}
            state.method = "tools/call"
            state.tool, state.arguments = str(params.get("name", "")), params.get("arguments")
            refused = self._tool_check(principal, state.tool)
            if refused is not None:
                return refused
        return None

    def _tool_check(self, principal: Principal, tool: str) -> Refusal | None:
        if tool not in scopes.TOOL_SCOPES:
            return None
        if not scopes.may_call(principal, tool):
            needed = scopes.required_scope(tool)
            return insufficient_scope(needed, f"{tool} needs the {needed} scope")
        wait = self._per_tool.take((principal.name, tool), time.monotonic())
        if wait:
            return Refusal(429, "rate_limited", f"too many {tool} calls by {principal.name}", retry_after(wait))
        return None

    def _owns_session(self, scope: Scope, principal: Principal) -> bool:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        owner = self._sse_owner.get((query.get("session_id") or [""])[0])
        return owner is None or owner == principal.name

    def _noting_sessions(self, send: Send, principal: Principal) -> Send:
        """send, noting principal as the owner of the session the /sse stream announces."""

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.body":
                session = session_in(message.get("body", b""))
                if session is not None:
                    if len(self._sse_owner) >= MAX_SSE_SESSIONS:
                        self._sse_owner.pop(next(iter(self._sse_owner)))
                    self._sse_owner.setdefault(session, principal.name)
            await send(message)

        return noting
