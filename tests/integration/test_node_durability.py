"""A single node keeps what makes things happen across a crash: a command waiting for approval when every
process of the node (its embedded broker included) is SIGKILLed is still waiting after `netobs run` starts
again, and approving it then carries it out.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from query_mcp.auth import tokens
from tests import brokers
from tests.integration.pipeline import TOKEN, own_node_env, rows_of, wait_for, wait_port

pytestmark = pytest.mark.integration

NODE_START_SECONDS = 120


def _env(data: Path, ports: dict[str, int], seed: Path) -> dict[str, str]:
    env = own_node_env(
        data,
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_INVENTORY_SEED_FILE=str(seed),
        NETOBS_ACTIONS_NETWORKS="127.0.10.0/24",
        NETOBS_ACTIONS_APPROVAL_TOOLS="update_node",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
        # After the crash the executor may wait out its dead predecessor's group session (10 s) before it reads
        # the approval: the MCP service waits longer than that for the outcome.
        NETOBS_ACTIONS_WAIT_SECONDS="30",
    )
    return env


def _start(env: dict[str, str], data: Path, port: int) -> subprocess.Popen[bytes]:
    log_path = data / f"run-{uuid.uuid4().hex[:6]}.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    wait_port(port, proc, log_path, timeout=NODE_START_SECONDS)
    return proc


def _kill_tree(pid: int) -> None:
    """SIGKILL pid and every process below it, all at once (a parent-death signal would stop them cleanly)."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for child, parent in (map(int, line.split()) for line in out.splitlines()):
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    for each in found:
        os.kill(each, signal.SIGKILL)


def _ask(url: str, tool: str, args: dict[str, Any], token: str) -> Any:
    async def call() -> Any:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with Client(streamable_http_client(url, http_client=http)) as client:
            result = await client.call_tool(tool, args)
        assert not result.is_error, f"{tool}: {result.content[0].text}"
        return rows_of(json.loads(result.content[0].text))

    return asyncio.run(call())


def _status(url: str, command_id: str, token: str) -> Any:
    """get_command_status, or None while the service does not know the command (yet)."""
    try:
        return _ask(url, "get_command_status", {"command_id": command_id}, token)
    except AssertionError as exc:
        if "no command" in str(exc):
            return None
        raise


def test_a_pending_approval_survives_a_crash_of_the_single_node(tmp_path: Path) -> None:
    ports = {name: brokers.free_port() for name in ("kafka", "mcp")}
    url = f"http://127.0.0.1:{ports['mcp']}/mcp"
    name = f"dur-{uuid.uuid4().hex[:6]}"
    seed = tmp_path / "inventory.toml"
    seed.write_text(f'[[node]]\nname = "{name}"\nip = "127.0.10.5"\n')
    operator = tokens.add(tmp_path / "mcp_tokens.toml", "operator", frozenset({"write", "probe", "read:inventory"}))
    env = _env(tmp_path, ports, seed)
    node = _start(env, tmp_path, ports["mcp"])
    try:
        wait_for(lambda: _ask(url, "get_node_list", {"name_filter": f"^{name}$"}, TOKEN), 60, "the seeded node")
        pending = _ask(url, "update_node", {"id": name, "ip": "127.0.10.6"}, operator)
        assert pending["Status"] == "pending_approval"
    finally:
        _kill_tree(node.pid)
        brokers.stop(node)

    node = _start(env, tmp_path, ports["mcp"])
    try:
        # The MCP service learns the commands again from their topics after its start.
        status = wait_for(
            lambda: _status(url, pending["CommandID"], operator), 30, "the command known to the restarted service"
        )
        assert status["Status"] == "pending_approval"
        approved = _ask(url, "approve_command", {"command_id": pending["CommandID"]}, TOKEN)
        assert approved["Status"] == "executed" and approved["Result"]["node"]["IP"] == "127.0.10.6"
        wait_for(
            lambda: _ask(url, "get_node_list", {"name_filter": f"^{name}$"}, TOKEN)[0]["IP"] == "127.0.10.6",
            60,
            "the approved move in the node list",
        )
    finally:
        brokers.stop(node)
