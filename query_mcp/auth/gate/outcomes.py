"""The outermost middleware: what became of each request, audited and counted.

It gives the request its GateState, lets the rest of the chain run, then reads the state back. A refusal
by any middleware is logged, counted (requests by outcome "denied", denials by reason) and audited with
who, from where, which tool and why. An MCP request that got through is counted by outcome and audited
here only when it failed at the HTTP level (bad Host or Origin, unknown path): the MCP guard audits every
message it handles. /healthz, the metadata, /metrics and /tool-digests are not counted unless refused.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_mcp.auth.gate.state import STATE_KEY, GateState, new_state
from query_mcp.auth.mcp_audit import AuditTrail, make_record
from query_mcp.metrics import Metrics

log = logging.getLogger(__name__)


class Outcomes:
    """Holds the audit trail (None: no audit) and the service's metrics."""

    def __init__(self, app: ASGIApp, audit: AuditTrail | None, metrics: Metrics) -> None:
        self.app = app
        self._audit = audit
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        state = new_state(scope)
        scope[STATE_KEY] = state
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        who = state.principal.name if state.principal else "-"
        if state.refusal is not None:
            refusal = state.refusal
            log.warning("refused %s from %s (%s): %s", state.method, state.client, who, refusal.detail)
            self._metrics.count("netobs_mcp_requests_total", outcome="denied")
            self._metrics.count("netobs_mcp_denials_total", reason=refusal.error)
            self._metrics.observe(time.monotonic() - started)
            self._record(state, who, "denied", refusal.detail, refusal.status, started)
        elif state.route == "mcp":
            self._metrics.count("netobs_mcp_requests_total", outcome="ok" if status < 400 else "error")
            self._metrics.observe(time.monotonic() - started)
            if status >= 400:
                self._record(state, who, "error", f"HTTP {status}", status, started)

    def _record(self, state: GateState, who: str, outcome: str, reason: str, status: int, started: float) -> None:
        if self._audit is None:
            return
        self._audit.record(
            make_record(
                transport="http",
                client=state.client,
                principal=who,
                method=state.method,
                tool=state.tool,
                arguments=state.arguments,
                outcome=outcome,
                reason=reason,
                status=status,
                started=started,
            )
        )
