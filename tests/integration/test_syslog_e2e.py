"""logger -> receivers -> broker -> worker -> chdb -> MCP (mcp SDK client, Streamable HTTP and stdio)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from mcp import Client, StdioServerParameters

from tests import brokers
from tests.integration.pipeline import TOKEN, call, node_env, wait_for, wait_port

pytestmark = pytest.mark.integration

LOGGER = shutil.which("logger")

# (transport flag, format flag, octet counting)
VARIANTS = [
    ("--udp", "--rfc3164", False),
    ("--udp", "--rfc5424", False),
    ("--tcp", "--rfc3164", False),
    ("--tcp", "--rfc5424", False),
    ("--tcp", "--rfc3164", True),
    ("--tcp", "--rfc5424", True),
]


@dataclass
class Running:
    url: str
    env: dict[str, str]
    syslog_port: int


@pytest.fixture(scope="module")
def node(broker, tmp_path_factory):
    """`netobs run` against the test's broker: receivers, worker and MCP in one process tree, own data dir.

    One Faust app per process, as in production: a second app started in the same process after the first
    stopped does not consume (seen with faust-streaming 0.15.3), so every node is a child process.
    """
    data = tmp_path_factory.mktemp("node")
    ports = {name: brokers.free_port() for name in ("syslog", "mcp")}
    env = node_env(
        broker,
        data,
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_BATCH_MS="20",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_GROUP_ID=f"e2e-{uuid.uuid4().hex[:8]}",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = data / "run.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(ports["mcp"], proc, log_path)
        yield Running(url=f"http://127.0.0.1:{ports['mcp']}/mcp", env=env, syslog_port=ports["syslog"])
    finally:
        brokers.stop(proc)


@pytest.mark.skipif(LOGGER is None, reason="util-linux logger is not installed (apt-get install bsdutils)")
def test_logger_lines_reach_mcp(node):
    running, port = node, node.syslog_port
    marker = uuid.uuid4().hex[:10]
    sent = {}
    for i, (transport, fmt, octet) in enumerate(VARIANTS):
        text = f"e2e {marker} variant {i} user admin login from 10.0.{i}.7 port 22{i}"
        args = [LOGGER, "-n", "127.0.0.1", "-P", str(port), transport, fmt, "-t", "e2eapp", "-p", "daemon.err"]
        if octet:
            args.append("--octet-count")
        subprocess.run([*args, text], check=True, timeout=10)
        sent[text] = (transport, fmt, octet)

    def found():
        rows = asyncio.run(call(running.url, "search_syslog", {"message_filter": marker, "limit": 1000}))
        return rows if len(rows) >= len(sent) else None

    rows = wait_for(found, 60, f"{len(sent)} lines with marker {marker} in search_syslog")
    assert sorted(r["Message"] for r in rows) == sorted(sent)
    for row in rows:
        assert row["Tag"] == "e2eapp"
        assert row["Type"] == "err:daemon"
        assert row["Level"] == "low"
        assert row["Severity"] == 3 and row["Facility"] == 3
        assert row["Source"] == "127.0.0.1"
        assert row["ParseError"] is False
        assert row["Time"].endswith("Z")

    filtered = asyncio.run(
        call(running.url, "search_syslog", {"message_filter": f"{marker} variant [02]", "tag_filter": "^e2eapp$"})
    )
    assert {r["Message"].split()[3] for r in filtered} == {"0", "2"}

    summary = asyncio.run(call(running.url, "get_syslog_summary", {"message_filter": marker}))
    assert sum(p["Count"] for p in summary) == len(sent)
    top = summary[0]
    assert set(top) >= {"Pattern", "Count", "TemplateID", "FirstSeen", "LastSeen", "Level", "Example"}
    assert ("e2eapp" in top["Pattern"] and marker not in top["Pattern"]) or top["Count"] < len(sent)


def test_stdio_relays_to_the_running_node(node):
    params = StdioServerParameters(command=sys.executable, args=["-m", "netobs", "mcp", "--stdio"], env=node.env)

    async def ask():
        async with Client(params) as client:
            tools = await client.list_tools()
            result = await client.call_tool("search_syslog", {"start_time": "-5m"})
            return [t.name for t in tools.tools], result

    names, result = asyncio.run(ask())
    assert {"search_syslog", "get_syslog_summary"} <= set(names)
    assert not result.is_error, result.content[0].text
    data = json.loads(result.content[0].text)
    assert data == result.structured_content and isinstance(data["items"], list) and data["truncated"] is False


def test_http_refuses_without_the_token(node):
    running = node
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
        request = urllib.request.Request(
            running.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
        assert refused.value.headers["www-authenticate"].startswith("Bearer")
        assert json.loads(refused.value.read())["error"] in ("unauthorized", "invalid_token")
