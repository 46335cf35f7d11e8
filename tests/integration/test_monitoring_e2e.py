"""snmpd, a TCP port and snmptrap -> netobs run (poller, trap receiver, worker, state machine) -> MCP.

The state machine is driven by real peers: snmpd stopped and restarted (normal -> high -> repair -> normal)
and a listening TCP port closed and reopened (normal -> low -> repair -> normal); a real snmptrap reaches
search_snmp_trap_log. Every answer is read through the mcp SDK client, as an agent would.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import brokers
from tests.integration.pipeline import TOKEN, call, node_env, wait_for, wait_port
from tests.snmpd import CREDENTIALS, RO_COMMUNITY, Snmpd, free_udp_port

pytestmark = pytest.mark.integration

SNMPTRAP = shutil.which("snmptrap")
INTERVAL_S = 2


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    return sock


def _files(directory: Path, snmp_port: int, tcp_port: int) -> tuple[Path, Path]:
    v2c = CREDENTIALS["v2c"]
    credentials = directory / "snmp_credentials.toml"
    credentials.write_text(f'[agent]\nmode = "v2c"\ncommunity = "{v2c.community}"\n')
    seed = directory / "inventory.toml"
    seed.write_text(
        f"""
[[node]]
name = "lab-agent"
ip = "127.0.0.1"
snmp_credential = "agent"

[[polling]]
node = "lab-agent"
name = "agent uptime"
kind = "snmp"
level = "high"
interval_s = {INTERVAL_S}
timeout_s = 1.0
retries = 0
params = {{ port = "{snmp_port}" }}

[[polling]]
node = "lab-agent"
name = "service port"
kind = "tcp"
level = "low"
interval_s = {INTERVAL_S}
timeout_s = 1.0
retries = 0
params = {{ port = "{tcp_port}" }}
"""
    )
    return credentials, seed


@pytest.fixture(scope="module")
def lab(broker, tmp_path_factory):
    """snmpd, a listening port and `netobs run` seeded with a node polling both."""
    data = tmp_path_factory.mktemp("monitoring-node")
    agent = Snmpd(data / "snmpd-dir")
    agent.directory.mkdir()
    agent.start()
    tcp_port = brokers.free_port()
    listener = _listen(tcp_port)
    credentials, seed = _files(data, agent.port, tcp_port)
    ports = {"mcp": brokers.free_port(), "traps": free_udp_port()}
    env = node_env(
        broker,
        data,
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SNMP_TRAP_PORT=str(ports["traps"]),
        NETOBS_POLLER_ENABLED="true",
        NETOBS_SNMP_TRAP_COMMUNITIES=RO_COMMUNITY,
        NETOBS_SNMP_CREDENTIALS_FILE=str(credentials),
        NETOBS_INVENTORY_SEED_FILE=str(seed),
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_GROUP_ID=f"mon-{uuid.uuid4().hex[:8]}",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = data / "run.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(ports["mcp"], proc, log_path)
        yield {
            "url": f"http://127.0.0.1:{ports['mcp']}/mcp",
            "agent": agent,
            "tcp_port": tcp_port,
            "listener": [listener],
            "traps": ports["traps"],
            "log": log_path,
        }
    finally:
        brokers.stop(proc)
        agent.stop()
        listener.close()


def _ask(url: str, tool: str, args: dict) -> object:
    return asyncio.run(call(url, tool, args))


def _state(url: str, name: str) -> str:
    pollings = _ask(url, "get_polling_list", {"name_filter": f"^{name}$"})
    return pollings[0]["State"] if pollings else ""


def _changes(url: str, name: str) -> list[tuple[str, str]]:
    events = _ask(url, "search_event_log", {"event_filter": name, "type_filter": "^polling$", "start_time": "-1h"})
    return [(e.get("LastLevel", ""), e["Level"]) for e in sorted(events, key=lambda e: e["Time"])]


def test_seeded_nodes_and_pollings_are_listed(lab):
    nodes = wait_for(lambda: _ask(lab["url"], "get_node_list", {"name_filter": "lab-agent"}), 60, "the seeded node")
    assert nodes[0]["IP"] == "127.0.0.1"
    wait_for(  # the pollings are projected after the node, maybe in a later batch
        lambda: (
            {"agent uptime", "service port", "PING"}
            <= {p["Name"] for p in _ask(lab["url"], "get_polling_list", {"node_name_filter": "lab-agent"})}
        ),
        60,
        "the seeded pollings",
    )


def test_snmp_polling_high_repair_normal_by_stopping_snmpd(lab):
    url, agent = lab["url"], lab["agent"]
    wait_for(lambda: _state(url, "agent uptime") == "normal", 60, "agent uptime normal")
    agent.stop()
    wait_for(lambda: _state(url, "agent uptime") == "high", 30, "agent uptime high after snmpd stopped")
    agent.start()
    wait_for(lambda: _state(url, "agent uptime") == "normal", 40, "agent uptime back to normal")
    wanted = {("normal", "high"), ("high", "repair"), ("repair", "normal")}
    wait_for(
        lambda: wanted <= set(_changes(url, "agent uptime")),
        30,
        "agent uptime: high, repair and normal in the event log",
    )


def test_tcp_polling_low_repair_normal_by_closing_the_port(lab):
    url = lab["url"]
    wait_for(lambda: _state(url, "service port") == "normal", 60, "service port normal")
    lab["listener"][0].close()
    wait_for(lambda: _state(url, "service port") == "low", 30, "service port low after the port closed")
    lab["listener"][0] = _listen(lab["tcp_port"])
    wait_for(lambda: _state(url, "service port") == "normal", 40, "service port back to normal")
    wanted = {("normal", "low"), ("low", "repair"), ("repair", "normal")}
    wait_for(
        lambda: wanted <= set(_changes(url, "service port")),
        30,
        "service port: low, repair and normal in the event log",
    )
    node = _ask(url, "get_node_list", {"name_filter": "lab-agent"})[0]
    assert node["State"] in ("normal", "repair")


@pytest.mark.skipif(SNMPTRAP is None, reason="net-snmp snmptrap is not installed (apt-get install snmp)")
def test_snmptrap_reaches_search_snmp_trap_log(lab):
    marker = uuid.uuid4().hex[:10]
    subprocess.run(
        [
            SNMPTRAP,
            "-v",
            "2c",
            "-c",
            RO_COMMUNITY,
            f"127.0.0.1:{lab['traps']}",
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.7",
            "i",
            "7",
            "1.3.6.1.2.1.2.2.1.2.7",
            "s",
            f"port-{marker}",
        ],
        check=True,
        timeout=10,
    )
    traps = wait_for(
        lambda: _ask(lab["url"], "search_snmp_trap_log", {"variable_filter": marker}), 30, "the trap in MCP"
    )
    assert traps[0]["FromAddress"].startswith("127.0.0.1")
    assert "linkDown" in traps[0]["TrapType"]


def test_mcp_requests_reach_mcp_audit_through_the_worker(lab):
    """The node's MCP service publishes its audit to the topic; the worker stores it; SQL reads it back."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        lab["url"], data=b"{}", method="POST", headers={"Authorization": "Bearer not-the-token-at-all"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    _ask(lab["url"], "get_node_list", {})
    query = (
        "SELECT outcome, status, principal FROM mcp_audit "
        "WHERE (status = 401 AND principal = '-') OR (tool = 'get_node_list' AND outcome = 'ok') "
        "GROUP BY outcome, status, principal ORDER BY status"
    )

    def audited() -> list:
        rows = _ask(lab["url"], "run_select_query", {"query": query})["rows"]
        return rows if len(rows) == 2 else []

    rows = wait_for(audited, 30, "the refused and the served request in mcp_audit")
    assert rows == [["ok", 200, "admin"], ["denied", 401, "-"]]
