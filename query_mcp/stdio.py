"""MCP over stdio, for agent hosts that launch `netobs mcp --stdio`.

With a ClickHouse server, or an embedded ClickHouse no other process holds, the tools are served here
directly. A running single node holds its embedded ClickHouse (one process per chdb path), so then this
process relays each JSON-RPC message to the node's Streamable HTTP endpoint with the node's token: the
agent host sees the same tools either way.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import IO

from common.config import McpConfig
from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.command_client import CommandClient
from query_mcp.metrics import Metrics
from query_mcp.service import build_server, guard_for
from query_mcp.store import Store

RELAY_TIMEOUT_SECONDS = 120


async def serve(mcp: McpConfig, store: Store, trail: AuditTrail, commands: CommandClient | None) -> None:
    """The tools on stdin/stdout as the stdio principal, every message audited."""
    server = build_server(
        store,
        guard_for(mcp, trail, Metrics(), stdio=True),
        commands,
        mcp.sql_concurrency_per_credential,
        mcp.max_result_bytes,
    )
    stop = asyncio.Event()
    flusher = asyncio.create_task(trail.run(stop))
    try:
        await server.run_stdio_async()
    finally:
        stop.set()
        await flusher


def relay(url: str, token: str, stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Forward newline-delimited JSON-RPC from stdin to url, and the answers to stdout, in order."""
    protocol_version = ""
    for line in stdin:
        if not line.strip():
            continue
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {token}",
        }
        if protocol_version:
            headers["MCP-Protocol-Version"] = protocol_version
        request = urllib.request.Request(url, data=line, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=RELAY_TIMEOUT_SECONDS) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = _error_reply(
                line, f"netobs node answered HTTP {exc.code}: {exc.read()[:300].decode(errors='replace')}"
            )
        except OSError as exc:
            body = _error_reply(line, f"netobs node at {url} is not reachable: {exc}")
        if not body.strip():
            continue
        protocol_version = _negotiated_version(body) or protocol_version
        stdout.write(body.strip() + b"\n")
        stdout.flush()
    return 0


def _negotiated_version(body: bytes) -> str:
    try:
        message = json.loads(body)
    except ValueError:
        return ""
    result = message.get("result") if isinstance(message, dict) else None
    return str(result.get("protocolVersion", "")) if isinstance(result, dict) else ""


def _error_reply(line: bytes, text: str) -> bytes:
    try:
        request_id = json.loads(line).get("id")
    except (ValueError, AttributeError):
        request_id = None
    if request_id is None:
        return b""
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32603, "message": text}}).encode()
