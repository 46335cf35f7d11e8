"""The HTTP gate in front of every MCP endpoint: who may connect, who they are, how much they may ask.

Order of checks, each refusal a JSON body an agent or operator can read and an audit record:
address allowlist (403, after trusted-proxy X-Forwarded-For resolution) -> per-client rate (429 +
Retry-After) -> bearer credential (401 + WWW-Authenticate naming the RFC 9728 metadata) -> body size
(413) -> the JSON-RPC message: a tools/call outside the credential's scopes (403 insufficient_scope),
per-tool rate (429). /healthz and the protected-resource metadata are open (behind the allowlist);
/metrics follows its own exposure setting (the app serves the metadata and /metrics). The credential is
never logged or passed on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from query_mcp.auth import access, scopes
from query_mcp.auth.mcp_audit import AuditTrail, make_record
from query_mcp.auth.mcp_guard import CLIENT_KEY, PRINCIPAL_KEY, TRANSPORT_KEY
from query_mcp.auth.ratelimit import RateLimiter
from query_mcp.auth.scopes import Principal
from query_mcp.metrics import Metrics
from schemas.scopes import METRICS

log = logging.getLogger(__name__)

Authenticate = Callable[[str], tuple[Principal | None, str]]
METADATA_PATH = "/.well-known/oauth-protected-resource"
MAX_SSE_SESSIONS = 10_000


def protected_resource_metadata(resource_url: str, authorization_servers: tuple[str, ...]) -> dict[str, Any]:
    """RFC 9728 protected-resource metadata of the MCP endpoint."""
    return {
        "resource": resource_url,
        "authorization_servers": list(authorization_servers),
        "bearer_methods_supported": ["header"],
        "scopes_supported": sorted(scopes.ALL_SCOPES),
        "resource_name": "netobs MCP",
    }


@dataclass(frozen=True)
class GateSettings:
    allow_from: tuple[access.Network, ...]
    trusted_proxies: tuple[access.Network, ...]
    max_body_bytes: int
    rate_per_client: float
    rate_per_tool: float
    metrics_access: str
    resource_url: str
    mcp_paths: tuple[str, ...] = ("/mcp", "/messages/")
    sse_path: str = "/sse"


class Refusal(Exception):
    """A request refused before it reaches the MCP server."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


class Gate:
    """ASGI middleware wrapping the whole HTTP app."""

    def __init__(
        self,
        app: Any,
        settings: GateSettings,
        authenticate: Authenticate,
        audit: AuditTrail | None,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._s = settings
        self._authenticate = authenticate
        self._audit = audit
        self._metrics = metrics
        self._clock = clock
        self._per_client = RateLimiter(settings.rate_per_client, max(1.0, 2 * settings.rate_per_client))
        self._per_tool = RateLimiter(settings.rate_per_tool, max(1.0, 2 * settings.rate_per_tool))
        self._sse_owner: dict[str, str] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self._clock()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        peer = (scope.get("client") or (None,))[0]
        client = access.client_address(peer, headers.get("x-forwarded-for"), self._s.trusted_proxies)
        path = scope.get("path", "")
        who = "-"
        method, tool, arguments = f"{scope.get('method')} {path}", "", None
        try:
            if not access.address_allowed(client, self._s.allow_from):
                raise Refusal(403, "forbidden", f"address {client} is not in the allowlist")
            if path == "/healthz":
                await self.app(scope, receive, send)
                return
            if path.startswith(METADATA_PATH):
                await self.app(scope, receive, send)
                return
            wait = self._per_client.take(client, self._clock())
            if wait:
                raise Refusal(429, "rate_limited", "too many requests from this address", _retry(wait))
            if path == "/metrics" and self._s.metrics_access != "token":
                if self._s.metrics_access == "off":
                    raise Refusal(404, "not_found", "metrics are off (NETOBS_MCP_METRICS)")
                await self.app(scope, receive, send)
                return
            principal = self._principal(headers.get("authorization"))
            who = principal.name
            if path == "/metrics":
                if not principal.may(METRICS):
                    raise _insufficient(METRICS, "/metrics needs the metrics scope")
                await self.app(scope, receive, send)
                return
            if path == "/tool-digests":
                await self.app(dict(scope, **{PRINCIPAL_KEY: principal, CLIENT_KEY: client}), receive, send)
                return
            body = await _read_body(scope, receive, headers, self._s.max_body_bytes)
            transport = "sse" if path.startswith("/messages") or path == self._s.sse_path else "http"
            if path.startswith("/messages"):
                self._check_sse_owner(scope, principal)
            for message in _messages(body):
                if message.get("method") == "tools/call":
                    params = message.get("params") if isinstance(message.get("params"), dict) else {}
                    tool, arguments = str(params.get("name", "")), params.get("arguments")
                    method = "tools/call"
                    self._check_tool(principal, tool)
            inner = dict(scope, **{PRINCIPAL_KEY: principal, CLIENT_KEY: client, TRANSPORT_KEY: transport})
            status = await self._forward(inner, body, receive, send, principal if path == self._s.sse_path else None)
            self._metrics.count("netobs_mcp_requests_total", outcome="ok" if status < 400 else "error")
            self._metrics.observe(self._clock() - started)
            if status >= 400:
                self._record(client, who, method, tool, arguments, "error", f"HTTP {status}", status, started)
        except Refusal as refusal:
            log.warning("refused %s from %s (%s): %s", method, client, who, refusal.detail)
            self._metrics.count("netobs_mcp_requests_total", outcome="denied")
            self._metrics.count("netobs_mcp_denials_total", reason=refusal.error)
            self._metrics.observe(self._clock() - started)
            self._record(client, who, method, tool, arguments, "denied", refusal.detail, refusal.status, started)
            await _json(send, refusal.status, {"error": refusal.error, "detail": refusal.detail}, refusal.headers)

    def _principal(self, authorization: str | None) -> Principal:
        presented = access.bearer_token(authorization)
        challenge = f'Bearer realm="netobs", resource_metadata="{self._metadata_url()}"'
        if presented is None:
            raise Refusal(
                401,
                "unauthorized",
                "a bearer credential is required (Authorization: Bearer <token>)",
                {"WWW-Authenticate": challenge},
            )
        principal, reason = self._authenticate(presented)
        if principal is None:
            raise Refusal(
                401,
                "invalid_token",
                f"credential refused: {reason}",
                {"WWW-Authenticate": f'{challenge}, error="invalid_token", error_description="{reason}"'},
            )
        return principal

    def _metadata_url(self) -> str:
        base, _, path = self._s.resource_url.partition("://")[2].partition("/")
        scheme = self._s.resource_url.partition("://")[0]
        return f"{scheme}://{base}{METADATA_PATH}" + (f"/{path}" if path else "")

    def _check_tool(self, principal: Principal, tool: str) -> None:
        if tool not in scopes.TOOL_SCOPES:
            return
        if not scopes.may_call(principal, tool):
            needed = scopes.required_scope(tool)
            raise _insufficient(needed, f"{tool} needs the {needed} scope")
        wait = self._per_tool.take((principal.name, tool), self._clock())
        if wait:
            raise Refusal(429, "rate_limited", f"too many {tool} calls by {principal.name}", _retry(wait))

    def _check_sse_owner(self, scope: dict[str, Any], principal: Principal) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        session = (query.get("session_id") or [""])[0]
        owner = self._sse_owner.get(session)
        if owner is not None and owner != principal.name:
            raise Refusal(403, "forbidden", "this SSE session belongs to another credential")

    async def _forward(
        self, scope: dict[str, Any], body: bytes, receive: Any, send: Any, sse_principal: Principal | None
    ) -> int:
        """Pass the request on with its body replayed; after the body, the real receive reports a disconnect."""
        status = [0]
        delivered = [False]

        async def replay() -> dict[str, Any]:
            if not delivered[0]:
                delivered[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            elif sse_principal is not None and message["type"] == "http.response.body":
                self._note_sse_session(message.get("body", b""), sse_principal)
            await send(message)

        await self.app(scope, replay, watch)
        return status[0]

    def _note_sse_session(self, chunk: bytes, principal: Principal) -> None:
        text = chunk.decode("utf-8", errors="ignore")
        marker = text.find("session_id=")
        if marker < 0:
            return
        session = text[marker + len("session_id=") :].split()[0].strip()
        if len(self._sse_owner) >= MAX_SSE_SESSIONS:
            self._sse_owner.pop(next(iter(self._sse_owner)))
        self._sse_owner.setdefault(session, principal.name)

    def _record(
        self,
        client: str | None,
        principal: str,
        method: str,
        tool: str,
        arguments: object,
        outcome: str,
        reason: str,
        status: int,
        started: float,
    ) -> None:
        if self._audit is None:
            return
        self._audit.record(
            make_record(
                transport="http",
                client=client,
                principal=principal,
                method=method,
                tool=tool,
                arguments=arguments,
                outcome=outcome,
                reason=reason,
                status=status,
                started=started,
            )
        )


def _insufficient(scope: str, detail: str) -> Refusal:
    return Refusal(
        403,
        "insufficient_scope",
        detail,
        {"WWW-Authenticate": f'Bearer realm="netobs", error="insufficient_scope", scope="{scope}"'},
    )


def _retry(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, int(wait + 0.999)))}


async def _read_body(scope: dict[str, Any], receive: Any, headers: dict[str, str], limit: int) -> bytes:
    """The whole request body, refusing beyond limit bytes (by Content-Length first, then as it arrives)."""
    if scope.get("method") != "POST":
        return b""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "payload_too_large", f"request body over {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, "payload_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _messages(body: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a body (one, or a batch); unparseable bodies are left to the SDK to reject."""
    if not body:
        return []
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [m for m in items if isinstance(m, dict)]


async def _json(send: Any, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
