"""The gate in front of every HTTP endpoint of the MCP service: one-concern middlewares, composed here.

From the outermost in: outcomes (audits and counts what the others decide) -> allowlist (403, after
trusted-proxy X-Forwarded-For resolution) -> client rate (429 + Retry-After) -> authentication (401 +
WWW-Authenticate naming the RFC 9728 metadata) -> body limit (413) -> authorization (403
insufficient_scope for a tool call or /metrics outside the credential's scopes, 429 per principal and
tool, 403 for another credential's SSE session, 404 for metrics that are off). Each refusal is JSON an
agent or operator can read.

The order is the point: an address is judged before anything is spent on it, the client rate before a
credential is tried (guessing costs requests), the credential before a body is read, the body before the
tool it calls. The middlewares share what they learn about a request through its GateState (state.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.types import ASGIApp

from query_mcp.auth import access
from query_mcp.auth.gate.allowlist import Allowlist
from query_mcp.auth.gate.authentication import Authenticate, Authentication
from query_mcp.auth.gate.authorization import Authorization
from query_mcp.auth.gate.body_limit import BodyLimit
from query_mcp.auth.gate.client_rate import ClientRate
from query_mcp.auth.gate.outcomes import Outcomes
from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.metrics import Metrics


@dataclass(frozen=True)
class GateSettings:
    """What the gate takes from the MCP configuration."""

    allow_from: tuple[access.Network, ...]
    trusted_proxies: tuple[access.Network, ...]
    max_body_bytes: int
    rate_per_client: float
    rate_per_tool: float
    metrics_access: str
    """off, open, or token (the metrics scope)."""
    resource_url: str


def behind_gate(
    app: ASGIApp, settings: GateSettings, authenticate: Authenticate, audit: AuditTrail | None, metrics: Metrics
) -> ASGIApp:
    """app behind the gate's middlewares, listed from the outermost in."""
    chain = [
        Middleware(Outcomes, audit=audit, metrics=metrics),
        Middleware(Allowlist, allow_from=settings.allow_from, trusted_proxies=settings.trusted_proxies),
        Middleware(ClientRate, rate=settings.rate_per_client),
        Middleware(
            Authentication,
            authenticate=authenticate,
            resource_url=settings.resource_url,
            metrics_access=settings.metrics_access,
        ),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(Authorization, rate_per_tool=settings.rate_per_tool, metrics_access=settings.metrics_access),
    ]
    for cls, args, kwargs in reversed(chain):
        app = cls(app, *args, **kwargs)
    return app
