"""Clients nobody here wrote, against the running service: the mcp SDK's Python client and the MCP TypeScript SDK's
client (tests/clients/ts, run with node). Both validate structuredContent against the tool's outputSchema
themselves; a result over mcp.max_result_bytes must reach both as valid JSON cut at whole rows, saying so.

The TypeScript client is installed with npm into tests/clients/ts on first use. Without npm the test skips,
except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from common.config import McpConfig
from tests.security.conftest import ADMIN, BULK_HOST, BULK_LINES, Service

TS_DIR = Path(__file__).resolve().parents[1] / "clients" / "ts"
MESSAGE_CHARS = 600
LIMIT = McpConfig().max_result_bytes
SQL_TOOLS = {"run_select_query", "list_tables", "describe_table"}
BIG = {
    "name": "search_syslog",
    "arguments": {"host_filter": f"^{BULK_HOST}$", "start_time": "-3d", "end_time": "-1d", "limit": 10000},
}
SYSLOG_FIELDS = [
    "Time",
    "Level",
    "Host",
    "Type",
    "Tag",
    "Message",
    "Severity",
    "Facility",
    "EventTime",
    "Source",
    "PID",
    "MsgID",
    "StructuredData",
    "TemplateID",
    "ParseError",
    "Compliance",
    "ParseIssues",
]


def _check_cut(data: dict[str, Any], text_bytes: int) -> None:
    """A list result cut at whole rows within the limit, saying so."""
    assert text_bytes <= LIMIT
    assert data["truncated"] is True and data["total"] == BULK_LINES
    assert 0 < data["count"] == len(data["items"]) < BULK_LINES
    assert [int(row["Message"][:5]) for row in data["items"]] == list(range(data["count"]))
    assert all(list(row) == SYSLOG_FIELDS for row in data["items"])


def test_python_sdk_client_gets_a_cut_result_that_matches_its_schema(svc: Service, bulk: int) -> None:
    async def ask() -> tuple[Any, Any, Any]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {ADMIN}"})
        async with Client(streamable_http_client(svc.url, http_client=http)) as client:
            tools = await client.list_tools()
            big = await client.call_tool(BIG["name"], BIG["arguments"])
            cursor = (big.structured_content or {}).get("cursor", "")
            rest = await client.call_tool(BIG["name"], BIG["arguments"] | {"cursor": cursor, "limit": 2})
            wrong = await client.call_tool("search_syslog", {"host": BULK_HOST})
            return tools, big, rest, wrong

    tools, big, rest, wrong = asyncio.run(ask())
    for tool in tools.tools:
        if tool.name not in SQL_TOOLS:
            assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
            assert tool.annotations is not None and tool.title, tool.name
            assert tool.input_schema["additionalProperties"] is False, tool.name
    assert not big.is_error
    text = big.content[0].text
    assert len(big.content) == 1 and json.loads(text) == big.structured_content
    _check_cut(big.structured_content, len(text.encode()))
    kept = big.structured_content["count"]
    assert not rest.is_error and [int(row["Message"][:5]) for row in rest.structured_content["items"]] == [
        kept,
        kept + 1,
    ]
    assert wrong.is_error and "unknown argument host; search_syslog accepts" in wrong.content[0].text


def _npm_ready() -> None:
    """node_modules of tests/clients/ts, installed on first use; skip without npm unless under CI."""
    if (TS_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are needed for the TypeScript SDK client test")
        pytest.skip("node/npm not installed")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS_DIR, check=True, timeout=300)


def test_typescript_sdk_client_validates_every_result_against_its_schema(svc: Service, bulk: int) -> None:
    _npm_ready()
    calls = [
        BIG,
        {"name": "get_syslog_summary", "arguments": {"host_filter": f"^{BULK_HOST}$", "start_time": "-3d"}},
        {"name": "get_node_list", "arguments": {}},
        {"name": "get_polling_list", "arguments": {}},
        {"name": "get_mib_tree", "arguments": {"root": "system"}},
        {"name": "get_ip_address_info", "arguments": {"ip": "192.0.2.1"}},
        {"name": "search_syslog", "arguments": {"limit": 0}},
        BIG | {"continue": True, "arguments": BIG["arguments"] | {"limit": 2, "fields": ["Message"]}},
        {"name": "count_syslog", "arguments": {"by": "host", "start_time": "-3d", "bucket": "auto"}},
        {"name": "find_syslog_spikes", "arguments": {"by": "host", "start_time": "-3d"}},
    ]
    answer = subprocess.run(
        ["node", "client.mjs", svc.url, ADMIN, json.dumps(calls)],
        cwd=TS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    listed = json.loads(answer.stdout)
    tools = {t["name"]: t for t in listed["tools"]}
    assert tools["snmpset"]["annotations"]["destructiveHint"] is True
    assert tools["do_ping"]["annotations"]["openWorldHint"] is True
    assert tools["search_syslog"]["annotations"]["readOnlyHint"] is True
    results = listed["calls"]
    assert [r.get("thrown") for r in results] == [None] * len(calls), results
    big, *rest, out_of_range, page, counts, spikes = results
    assert not big["isError"] and big["textMatches"]
    _check_cut(big["structuredContent"], big["textBytes"])
    for result in [*rest, counts, spikes]:
        assert not result["isError"] and result["textMatches"], result
    assert rest[1]["structuredContent"]["items"][0]["ID"] == "n1"
    assert out_of_range["isError"] and "limit: 0 is outside 1-10000" in out_of_range["text"]
    kept = big["structuredContent"]["count"]  # the continuation starts right after the last line of the cut page
    assert [int(row["Message"][:5]) for row in page["structuredContent"]["items"]] == [kept, kept + 1]
    assert BULK_HOST in [item["Key"] for item in counts["structuredContent"]["items"]]
