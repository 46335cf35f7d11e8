"""Hardening finding 13: every process has an RSS ceiling, and a single node enforces it. A parse process given a
ceiling below its own idle size is restarted by the node's memory watch, and every line sent is still stored,
once: what the killed process had not finished waits in the broker and is mined again by its replacement."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import clickhouse_connect
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import brokers
from tests.integration.pipeline import TOKEN, add_token, own_node_env, wait_for, wait_port

pytestmark = pytest.mark.integration

LINES = 3000


def _metric(port: int, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")
def test_a_parse_process_over_its_ceiling_is_restarted_and_no_line_is_lost(tmp_path: Path) -> None:
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp", "metrics", "clickhouse")}
    env = own_node_env(
        tmp_path / "data",
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_CLICKHOUSE_HTTP_PORT=str(ports["clickhouse"]),
        NETOBS_METRICS_PORT=str(ports["metrics"]),
        NETOBS_METRICS_ACCESS="open",
        NETOBS_WORKER_PARSE_PROCESSES="1",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
        NETOBS_MEMORY_PARSE_BYTES=str(16 * 1024 * 1024),  # the least allowed: below a parse process's idle size
        NETOBS_MEMORY_SAMPLE_SECONDS="0.2",
        NETOBS_MEMORY_SHED_SECONDS="15",
    )
    analyst = add_token(env, "analyst", "read:sql")
    marker = uuid.uuid4().hex[:10]
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"ceiling {marker} line {i}\n" for i in range(LINES)))
    log_path = tmp_path / "run.log"
    node = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(ports["mcp"], node, log_path, timeout=120)
        wait_port(ports["syslog"], node, log_path, timeout=60)
        subprocess.run(
            ["logger", "-n", "127.0.0.1", "-P", str(ports["syslog"]), "--tcp", "-t", "ceiling", "-f", str(lines)],
            check=True,
            timeout=60,
        )
        wait_port(ports["clickhouse"], node, log_path, timeout=30)
        store = clickhouse_connect.get_client(
            host="127.0.0.1", port=ports["clickhouse"], username="analyst", password=analyst
        )
        query = "SELECT count(), uniqExact(message) FROM syslog WHERE position(message, {m:String}) > 0"
        stored = wait_for(
            lambda: (r := store.query(query, parameters={"m": marker}).result_rows[0])[0] >= LINES and r,
            180,
            f"{LINES} lines stored",
        )
        restarts = _metric(ports["metrics"], "netobs_memory_restarts_total", kind="parse")
    finally:
        node.send_signal(signal.SIGTERM)
        code = node.wait(90)
    text = log_path.read_text()
    assert stored == (LINES, LINES), "every line stored, once"
    assert restarts >= 1, text[-3000:]
    told = [line for line in text.splitlines() if "restarted for its memory" in line]
    assert len(told) == restarts, "each restart is logged, once"
    assert "parse process 0 lost" in text, "the worker's pool saw its process go and replaced it"
    assert code == 0, text[-3000:]
