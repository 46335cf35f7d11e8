"""The MCP-level guard, as mcp SDK server middleware, on every transport (stdio, Streamable HTTP, SSE).

It sees each JSON-RPC message after the HTTP gate let it through: it shows a principal only the tools
it may call (each with a digest a client can pin), refuses a call outside the principal's scopes
(defence in depth behind the gate's 403), bounds concurrent tool calls, caps result size (a list's
rows cut whole, the cut stated in the result), and writes the audit record of every message it handles.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError

from query_mcp.auth import caller, scopes
from query_mcp.auth.gate.state import STATE_KEY, GateState
from query_mcp.auth.mcp_audit import AuditTrail, make_record
from query_mcp.auth.scopes import Principal
from query_mcp.metrics import Metrics
from query_mcp.tools.results import dumps

DIGEST_META = "netobs/sha256"
TOO_BIG = (
    "the result is {size} bytes, over this server's limit of {limit} (mcp.max_result_bytes); narrow the time "
    "window or the filters, or lower limit/top_n"
)


def tool_digest(tool: dict[str, Any]) -> str:
    """SHA-256 of a tool's name, description and input schema as listed: what a client pins."""
    pinned = {k: tool.get(k) for k in ("name", "description", "inputSchema")}
    return hashlib.sha256(json.dumps(pinned, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class GuardSettings:
    max_concurrent_calls: int
    max_result_bytes: int
    stdio_principal: Principal | None = None
    """Set only on a stdio server: who a message without an HTTP request is. None: refuse such messages."""


class McpGuard:
    """Server middleware; one instance per MCPServer."""

    def __init__(self, settings: GuardSettings, audit: AuditTrail | None, metrics: Metrics) -> None:
        self._settings = settings
        self._audit = audit
        self._metrics = metrics
        self._running = 0
        self._lock = asyncio.Lock()

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        started = time.monotonic()
        principal, client, transport = self._who(ctx)
        params = dict(ctx.params or {})
        tool = str(params.get("name", "")) if ctx.method == "tools/call" else ""
        arguments = params.get("arguments") if tool else None
        outcome, reason = "ok", ""
        try:
            if principal is None:
                outcome, reason = "denied", "no authenticated principal"
                raise MCPError(code=-32001, message="not authenticated")
            refusal = _refusal(ctx.method, params, principal)
            if refusal:
                outcome, reason = "denied", refusal
                raise MCPError(code=-32001, message=f"permission denied: {refusal}")
            if ctx.method == "tools/call":
                token = caller.current.set(caller.Caller(principal, client, transport))
                try:
                    result = await self._call(ctx, call_next, principal, tool)
                finally:
                    caller.current.reset(token)
                if isinstance(result, dict) and "_netobs_denied" in result:
                    result = dict(result)
                    outcome, reason = "denied", str(result.pop("_netobs_denied"))
                elif isinstance(result, dict) and result.get("isError"):
                    outcome, reason = "tool_error", _first_text(result)
                return result
            token = caller.current.set(caller.Caller(principal, client, transport))
            try:
                result = await call_next(ctx)
            finally:
                caller.current.reset(token)
            if isinstance(result, dict):
                result = _listed(ctx.method, result, principal, self._visible)
            return result
        except MCPError as exc:
            if outcome == "ok":
                outcome, reason = "error", exc.error.message
            raise
        except Exception as exc:
            outcome, reason = "error", type(exc).__name__
            raise
        finally:
            if tool:
                self._metrics.count("netobs_mcp_tool_calls_total", tool=_label(tool), outcome=outcome)
            if self._audit is not None:
                self._audit.record(
                    make_record(
                        transport=transport,
                        client=client,
                        principal=principal.name if principal else "-",
                        method=ctx.method,
                        tool=tool,
                        arguments=arguments,
                        outcome=outcome,
                        reason=reason,
                        status={"http": 200, "sse": 202}.get(transport, 0),
                        started=started,
                    )
                )

    def _who(self, ctx: ServerRequestContext[Any, Any]) -> tuple[Principal | None, str, str]:
        """From the gate's state of the HTTP request that carried the message; with no request, stdio."""
        scope = getattr(ctx.request, "scope", None)
        if not isinstance(scope, dict):
            return self._settings.stdio_principal, "stdio", "stdio"
        gate = scope.get(STATE_KEY)
        if not isinstance(gate, GateState):
            return None, "-", "http"
        return gate.principal, gate.client or "-", gate.transport

    async def _call(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, principal: Principal, tool: str
    ) -> HandlerResult:
        if tool not in scopes.TOOL_SCOPES:
            return _error_result(f"Unknown tool: {tool}", denied="unknown tool")
        if not scopes.may_call(principal, tool):
            needed = scopes.required_scope(tool)
            return _error_result(
                f"permission denied: {tool} needs the {needed} scope, which this credential does not hold",
                denied=f"insufficient scope ({needed})",
            )
        async with self._lock:
            if self._running >= self._settings.max_concurrent_calls:
                busy = True
            else:
                busy = False
                self._running += 1
        if busy:
            return _error_result(
                f"server busy: {self._settings.max_concurrent_calls} tool calls are running; retry in a second",
                denied="concurrency limit",
            )
        try:
            result = await call_next(ctx)
        finally:
            async with self._lock:
                self._running -= 1
        if isinstance(result, dict):
            result = _cap(result, self._settings.max_result_bytes)
        return result

    def _visible(self, principal: Principal, tools: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        shown = []
        for tool in tools:
            if scopes.may_call(principal, str(tool.get("name", ""))):
                meta = dict(tool.get("_meta") or {}, **{DIGEST_META: tool_digest(tool)})
                shown.append(dict(tool, _meta=meta))
        return shown


def _refusal(method: str, params: dict[str, Any], principal: Principal) -> str:
    """Why a prompt or resource request is refused for this principal ("" when it is not)."""
    if method == "prompts/get":
        name = str(params.get("name", ""))
        if not scopes.may_get_prompt(principal, name):
            return f"prompt {name[:64]!r} needs scopes this credential does not hold, or does not exist"
    if method == "resources/read":
        uri = str(params.get("uri", ""))
        if not scopes.may_read(principal, uri):
            return f"resource {uri[:128]!r} needs a scope this credential does not hold, or does not exist"
    return ""


def _listed(
    method: str,
    result: dict[str, Any],
    principal: Principal,
    visible_tools: Callable[[Principal, Iterable[dict[str, Any]]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """A list answer showing only what the principal may use: tools, prompts, resources and their templates."""
    if method == "tools/list":
        return dict(result, tools=visible_tools(principal, result.get("tools", [])))
    if method == "prompts/list":
        shown = [p for p in result.get("prompts", []) if scopes.may_get_prompt(principal, str(p.get("name", "")))]
        return dict(result, prompts=shown)
    if method == "resources/list":
        shown = [r for r in result.get("resources", []) if scopes.may_read(principal, str(r.get("uri", "")))]
        return dict(result, resources=shown)
    if method == "resources/templates/list":
        templates = result.get("resourceTemplates", [])
        shown = [t for t in templates if scopes.may_read(principal, str(t.get("uriTemplate", "")).split("{")[0])]
        return dict(result, resourceTemplates=shown)
    return result


def _error_result(text: str, denied: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True, "_netobs_denied": denied}


def _first_text(result: dict[str, Any]) -> str:
    for item in result.get("content") or []:
        if isinstance(item, dict) and item.get("type") == "text":
            return str(item.get("text", ""))[:300]
    return ""


def _cap(result: dict[str, Any], limit: int) -> dict[str, Any]:
    """A result within limit bytes of JSON text. A list (structuredContent with items) keeps its first rows that
    fit and says truncated with the total; anything else over the limit becomes a tool error saying why, never
    a text cut mid-object."""
    size = sum(len(str(i.get("text", "")).encode()) for i in result.get("content") or [] if isinstance(i, dict))
    if size <= limit or result.get("isError"):
        return result
    data = result.get("structuredContent")
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        rows = data["items"]
        low, high = 0, len(rows)
        while low < high:  # the most rows whose JSON fits
            mid = (low + high + 1) // 2
            if len(dumps(_rows(data, rows[:mid])).encode()) <= limit:
                low = mid
            else:
                high = mid - 1
        kept = _rows(data, rows[:low])
        return dict(result, content=[{"type": "text", "text": dumps(kept)}], structuredContent=kept)
    return {"content": [{"type": "text", "text": TOO_BIG.format(size=size, limit=limit)}], "isError": True}


def _rows(data: dict[str, Any], rows: list[Any]) -> dict[str, Any]:
    return dict(data, items=rows, count=len(rows), truncated=data.get("truncated") or len(rows) < len(data["items"]))


def _label(tool: str) -> str:
    """Tool names from the closed set, anything else as one label value."""
    return tool if tool in scopes.TOOL_SCOPES else "unknown"
