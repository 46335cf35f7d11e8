"""`netobs run` as a user starts it: everything on 127.0.0.1, Ctrl-C stops it cleanly, a restart finds the data,
`netobs mcp --stdio` serves the same data straight from the store once the node is down, and clickhouse-connect
reads the node's embedded store through its ClickHouse HTTP endpoint with a named token."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import clickhouse_connect
import pytest
from mcp import Client, StdioServerParameters

from tests import brokers
from tests.integration.pipeline import add_token, call, own_node_env, wait_for, wait_port

pytestmark = pytest.mark.integration


def _start(env: dict[str, str], log_path) -> subprocess.Popen[bytes]:
    return brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    return [int(p) for p, pp in (line.split() for line in out.splitlines()) if int(pp) == pid]


@pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")
def test_run_stop_restart_and_stdio(tmp_path):
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp", "traps", "clickhouse")}
    env = own_node_env(
        tmp_path / "data",
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_RELP_PORT=str(brokers.free_port()),
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_SNMP_TRAP_PORT=str(ports["traps"]),
        NETOBS_CLICKHOUSE_HTTP_PORT=str(ports["clickhouse"]),
        NETOBS_POLLER_ENABLED="true",  # every part a default node runs, and stops
    )
    analyst = add_token(env, "analyst", "read:sql")
    log_path = tmp_path / "run.log"
    node = _start(env, log_path)
    url = f"http://127.0.0.1:{ports['mcp']}/mcp"
    marker = uuid.uuid4().hex[:10]
    try:
        wait_port(ports["mcp"], node, log_path, timeout=120)
        token = (tmp_path / "data" / "mcp_token").read_text().strip()
        assert log_path.read_text().count(token) == 1, "the banner shows the new token once"
        children = _children(node.pid)
        assert len(children) >= 2, "broker and receivers run as children"
        for transport in ("--udp", "--tcp"):
            subprocess.run(
                [
                    "logger",
                    "-n",
                    "127.0.0.1",
                    "-P",
                    str(ports["syslog"]),
                    transport,
                    "--rfc5424",
                    "-t",
                    "node",
                    f"single node {marker} via {transport}",
                ],
                check=True,
                timeout=10,
            )
        rows = wait_for(
            lambda: (
                (r := asyncio.run(call(url, "search_syslog", {"message_filter": marker}, token=token)))
                and len(r) == 2
                and r
            ),
            60,
            "both lines through MCP",
        )
        assert {r["Tag"] for r in rows} == {"node"}
        wait_port(ports["clickhouse"], node, log_path, timeout=30)
        analysts = clickhouse_connect.get_client(
            host="127.0.0.1", port=ports["clickhouse"], username="analyst", password=analyst
        )
        count = "SELECT count() FROM syslog WHERE position(message, {m:String}) > 0"
        assert analysts.query(count, parameters={"m": marker}).result_rows == [(2,)]
        # The query went to mcp_audit through the audit topic and the worker, like an MCP request.
        audited = "SELECT count() FROM mcp_audit WHERE transport = 'clickhouse-http' AND principal = 'analyst'"
        wait_for(lambda: analysts.query(audited).result_rows[0][0] >= 2, 60, "the endpoint's queries audited")
    finally:
        node.send_signal(signal.SIGINT)
        code = node.wait(60)
    assert code == 0, log_path.read_text()[-3000:]
    time.sleep(0.5)
    for pid in children:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z", f"child {pid} left behind"

    # The node is down: stdio opens the store itself and finds what was stored.
    params = StdioServerParameters(command=sys.executable, args=["-m", "netobs", "mcp", "--stdio"], env=env)

    async def ask():
        async with Client(params) as client:
            return await client.call_tool("search_syslog", {"message_filter": marker})

    result = asyncio.run(ask())
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text)["count"] == 2 == len(result.structured_content["items"])

    # A second start finds its data and its token again, and does not print the token this time.
    second_log = tmp_path / "run2.log"
    node = _start(env, second_log)
    try:
        wait_port(ports["mcp"], node, second_log, timeout=120)
        assert (tmp_path / "data" / "mcp_token").read_text().strip() == token
        banner = second_log.read_text()
        assert token not in banner and f"{token[:4]}... kept in" in banner
        again = asyncio.run(call(url, "search_syslog", {"message_filter": marker}, token=token))
        assert len(again) == 2
    finally:
        node.send_signal(signal.SIGINT)
        assert node.wait(60) == 0
