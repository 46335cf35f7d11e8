"""The body of an MCP request, read whole and bounded (413 beyond the limit), before anything parses it.

The gate must read the JSON-RPC body to authorize the tool it calls, so the body is read here once, kept in
the request's GateState for the authorization middleware, and replayed to the app. Only MCP requests
are read: /tool-digests and /metrics take no body, the open paths nothing at all.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_mcp.auth.gate.refusal import refuse
from query_mcp.auth.gate.state import Refusal, last_header, state_of


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body of a POST (other methods: empty); None when over limit bytes, by Content-Length first."""
    if scope.get("method") != "POST":
        return b""
    declared = last_header(scope, "content-length") or ""
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (state := state_of(scope)).route != "mcp":
            await self.app(scope, receive, send)
            return
        body = await read_body(scope, receive, self._max_bytes)
        if body is None:
            refusal = Refusal(413, "payload_too_large", f"request body over {self._max_bytes} bytes")
            await refuse(scope, receive, send, refusal)
            return
        state.body = body
        delivered = False

        async def replay() -> Message:
            """The body once; after it, the real receive (which reports the disconnect)."""
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
