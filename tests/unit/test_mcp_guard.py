"""The MCP guard without a network: concurrency cap, scope refusal, tool-list filtering, audit records."""

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.auth.mcp_guard import GuardSettings, McpGuard
from query_mcp.auth.scopes import Principal
from query_mcp.metrics import Metrics


@dataclass
class Ctx:
    method: str
    params: dict[str, Any]
    request: Any = None


def _guard(scopes: set[str], cap: int = 1) -> tuple[McpGuard, AuditTrail, list]:
    sent: list = []

    async def keep(records):
        sent.extend(records)

    trail = AuditTrail(keep)
    principal = Principal("stdio", frozenset(scopes), "stdio")
    return McpGuard(GuardSettings(cap, 1024, principal), trail, Metrics()), trail, sent


def _call(tool: str) -> Ctx:
    return Ctx("tools/call", {"name": tool, "arguments": {"x": 1}})


def test_concurrency_cap_refuses_the_call_beyond_it():
    guard, trail, sent = _guard({"read:logs"}, cap=1)
    release = asyncio.Event()

    async def slow(ctx):
        await release.wait()
        return {"content": [{"type": "text", "text": "[]"}], "isError": False}

    async def scenario():
        first = asyncio.create_task(guard(_call("search_syslog"), slow))
        await asyncio.sleep(0.01)
        second = await guard(_call("search_syslog"), slow)
        release.set()
        return await first, second

    first, second = asyncio.run(scenario())
    assert not first["isError"]
    assert second["isError"] and "server busy" in second["content"][0]["text"]
    assert "_netobs_denied" not in second
    asyncio.run(trail.run(_set(asyncio.Event())))
    outcomes = sorted((r.outcome, r.reason) for r in sent)
    assert outcomes == [("denied", "concurrency limit"), ("ok", "")]
    assert all(r.principal == "stdio" and r.transport == "stdio" and len(r.args_digest) == 64 for r in sent)


def test_scope_refusal_and_list_filtering():
    guard, _, _ = _guard({"read:logs"})

    async def handler(ctx):
        if ctx.method == "tools/list":
            return {"tools": [{"name": "search_syslog", "inputSchema": {}}, {"name": "snmpset", "inputSchema": {}}]}
        raise AssertionError("a refused call must not reach the tool")

    listed = asyncio.run(guard(Ctx("tools/list", {}), handler))
    assert [t["name"] for t in listed["tools"]] == ["search_syslog"]
    refused = asyncio.run(guard(_call("snmpset"), handler))
    assert refused["isError"] and "write scope" in refused["content"][0]["text"]


def test_http_message_without_principal_is_refused():
    guard = McpGuard(GuardSettings(4, 1024, None), None, Metrics())

    class Request:
        def __init__(self) -> None:
            self.scope: dict = {}

    async def handler(ctx):
        raise AssertionError("unreachable")

    with pytest.raises(MCPError, match="not authenticated"):
        asyncio.run(guard(Ctx("tools/list", {}, Request()), handler))


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event
