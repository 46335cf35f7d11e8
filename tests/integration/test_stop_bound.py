"""Hardening issue, finding 10: a stop finishes within its documented bound whatever is in flight.

A query in flight when SIGTERM arrived used to hold the node until ClickHouse's own timeout ended it (the web
server waited for it, then the interpreter's exit waited for the thread running it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netobs.node import STOP_SECONDS
from tests import brokers
from tests.integration.pipeline import call, wait_port

pytestmark = pytest.mark.integration

QUERY_TIMEOUT = 600
HEAVY = "SELECT count() FROM numbers_mt(1000000000000) WHERE cityHash64(number) % 7 = 3"


def _node_env(tmp_path, ports: dict[str, int], **extra: str) -> dict[str, str]:
    env = dict(
        os.environ,
        NETOBS_DATA_DIR=str(tmp_path / "data"),
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_SNMP_TRAP_PORT=str(ports["traps"]),
        NETOBS_CLICKHOUSE_HTTP_PORT="0",
        **extra,
    )
    env.pop("NETOBS_KAFKA", None)
    env.pop("NETOBS_CLICKHOUSE", None)
    return env


def _ports() -> dict[str, int]:
    return {name: brokers.free_port() for name in ("kafka", "syslog", "mcp", "traps")}


def test_sigterm_with_a_query_in_flight_stops_within_the_bound(tmp_path):
    ports = _ports()
    env = _node_env(tmp_path, ports, NETOBS_MCP_QUERY_TIMEOUT_SECONDS=str(QUERY_TIMEOUT))
    log_path = tmp_path / "run.log"
    node = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(ports["mcp"], node, log_path, timeout=120)
        token = (tmp_path / "data" / "mcp_token").read_text().strip()
        url = f"http://127.0.0.1:{ports['mcp']}/mcp"
        answered: list[object] = []

        def heavy_query() -> None:
            try:
                answered.append(asyncio.run(call(url, "run_select_query", {"query": HEAVY}, token=token)))
            except BaseException as exc:  # the node going away mid-call is the expected end
                answered.append(exc)

        caller = threading.Thread(target=heavy_query, daemon=True)
        caller.start()
        caller.join(5)
        assert caller.is_alive(), f"the query was meant to be in flight: {answered}"
        node.send_signal(signal.SIGTERM)
        code = node.wait(STOP_SECONDS + 15)
        log_text = log_path.read_text()
        assert code == 0, log_text[-3000:]
        assert "netobs stopped" in log_text and "stop took over" not in log_text
        caller.join(30)
    finally:
        brokers.stop(node)


def test_a_dead_broker_stops_the_node_instead_of_leaving_it_blind(tmp_path):
    ports = _ports()
    log_path = tmp_path / "run.log"
    node = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=_node_env(tmp_path, ports))
    try:
        wait_port(ports["mcp"], node, log_path, timeout=120)
        java = [pid for pid in _children(node.pid) if b"kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(java) == 1, "the embedded broker runs as a child of the node"
        os.kill(java[0], signal.SIGKILL)
        code = node.wait(STOP_SECONDS + 15)
        log_text = log_path.read_text()
        assert code == 1 and "broker exited with -9; stopping" in log_text, log_text[-3000:]
    finally:
        brokers.stop(node)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    return [int(p) for p, pp in (line.split() for line in out.splitlines()) if int(pp) == pid]
