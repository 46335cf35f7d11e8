"""Requests per second per client address, before any credential is checked (429 + Retry-After).

Checked ahead of authentication so that guessing credentials costs requests too; /healthz and the
metadata are exempt (they answer the same thing to everyone within the allowlist).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from query_mcp.auth.gate.refusal import refuse, retry_after
from query_mcp.auth.gate.state import Refusal, state_of
from query_mcp.auth.ratelimit import RateLimiter


class ClientRate:
    """Holds a token bucket per client address: rate a second, bursts of twice that."""

    def __init__(self, app: ASGIApp, rate: float) -> None:
        self.app = app
        self._limiter = RateLimiter(rate, max(1.0, 2 * rate))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (state := state_of(scope)).route == "open":
            await self.app(scope, receive, send)
            return
        wait = self._limiter.take(state.client, time.monotonic())
        if wait:
            refusal = Refusal(429, "rate_limited", "too many requests from this address", retry_after(wait))
            await refuse(scope, receive, send, refusal)
            return
        await self.app(scope, receive, send)
