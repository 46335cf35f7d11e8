"""Helpers that start real netobs parts for the integration tests, and the mcp SDK client to ask them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.brokers import Cluster

TOKEN = "integration-token-0123456789"


def node_env(broker: Cluster | None, data_dir: Path, stage: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a netobs child process of a test: its own ports and data directory, and the broker's
    address and credentials: a stage's principal, or (stage None: a whole `netobs run`, whose parts then share
    one principal) the super user. broker None: the child starts its own embedded broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_KAFKA")}
    env.update(broker.env(stage) if broker else {}, NETOBS_DATA_DIR=str(data_dir), NETOBS_LOG_LEVEL="INFO")
    # A test that wants traps gives a free port; one that wants polls turns the poller on, after making sure
    # the shared broker's inventory names only loopback addresses (tests never send beyond 127.0.0.0/8).
    env.update(NETOBS_SNMP_TRAP_PORT="0", NETOBS_POLLER_ENABLED="false", NETOBS_SYSLOG_RELP_PORT="0")
    env.update(extra)
    return env


def own_node_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a whole `netobs run` that starts its own broker and store, as a user runs it: node_env
    without a broker, and no ClickHouse server address inherited from the test run either."""
    env = node_env(None, data_dir, **extra)
    env.pop("NETOBS_CLICKHOUSE", None)
    return env


def add_token(env: dict[str, str], name: str, *scopes: str) -> str:
    """`netobs token add NAME --scope ...` on the data directory of env, as an operator runs it; returns the secret."""
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    return subprocess.run(
        [sys.executable, "-m", "netobs", "token", "add", name, *scope_args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def wait_port(
    port: int, proc: subprocess.Popen[bytes] | None = None, log_path: Path | None = None, timeout: float = 30
) -> None:
    """Wait until 127.0.0.1:port accepts TCP connections (or the process that should open it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited: {log_path.read_text()[-2000:] if log_path else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


async def call(url: str, tool: str, args: dict[str, Any], token: str = TOKEN) -> Any:
    """Call one tool over Streamable HTTP with the mcp SDK client; returns the parsed JSON result (a list tool's
    rows)."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool(tool, args)
    text = result.content[0].text
    if result.is_error:
        raise AssertionError(f"{tool} failed: {text}")
    return rows_of(json.loads(text))


def rows_of(data: Any) -> Any:
    """The rows of a list tool's {items, count, total, truncated}; any other result as it is."""
    return data["items"] if isinstance(data, dict) and "items" in data and "truncated" in data else data


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Poll until predicate() returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")
