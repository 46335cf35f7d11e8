"""A single node restarted on the same data directory keeps storing: its embedded broker starts every topic at
offset 0 again, below the offsets the ClickHouse ledgers already hold, and nothing new may be taken for old.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from pathlib import Path

import pytest

from tests import brokers
from tests.integration.pipeline import TOKEN, call, node_env, wait_for, wait_port

pytestmark = pytest.mark.integration


def _start(data: Path, ports: dict[str, int]) -> object:
    env = node_env(
        "",
        data,
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_BATCH_MS="20",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_BATCH_SECONDS="0.2",
    )
    for name in ("NETOBS_KAFKA", "NETOBS_KAFKA_BOOTSTRAP", "NETOBS_CLICKHOUSE"):
        env.pop(name, None)
    log_path = data / f"run-{uuid.uuid4().hex[:6]}.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    wait_port(ports["mcp"], proc, log_path)
    return proc


def _send(port: int, marker: str, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(count):
            sock.sendto(f"<13>restart-test: {marker} line {i}".encode(), ("127.0.0.1", port))


def _stored(url: str, marker: str) -> int:
    rows = asyncio.run(call(url, "search_syslog", {"message_filter": marker, "limit": 1000, "start_time": "-1h"}))
    return len(rows)


def test_lines_after_a_restart_are_stored(tmp_path: Path) -> None:
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp")}
    url = f"http://127.0.0.1:{ports['mcp']}/mcp"
    before, after = f"before-{uuid.uuid4().hex[:8]}", f"after-{uuid.uuid4().hex[:8]}"
    proc = _start(tmp_path, ports)
    try:
        _send(ports["syslog"], before, 50)
        wait_for(lambda: _stored(url, before) == 50, 60, "the lines sent before the restart")
    finally:
        brokers.stop(proc)
    proc = _start(tmp_path, ports)
    try:
        _send(ports["syslog"], after, 20)
        wait_for(lambda: _stored(url, after) == 20, 60, "the lines sent after the restart")
        assert _stored(url, before) == 50
    finally:
        brokers.stop(proc)
