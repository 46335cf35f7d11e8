"""How a gate middleware refuses a request: the refusal noted in the request's GateState (for the audit
record and the denial metrics) and answered as JSON a client or an agent can read."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from query_mcp.auth.gate.state import Refusal, state_of


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    state_of(scope).refusal = refusal
    body = {"error": refusal.error, "detail": refusal.detail}
    await JSONResponse(body, refusal.status, refusal.headers)(scope, receive, send)


def retry_after(wait: float) -> dict[str, str]:
    """The Retry-After header of a 429: whole seconds, at least one."""
    return {"Retry-After": str(max(1, int(wait + 0.999)))}
