"""A single node restarted on the same data directory keeps its topics: its embedded Apache Kafka stores them
under the data directory, the worker continues from its committed offsets and stores nothing twice, and
`netobs replay` rebuilds the projections from the raw topic the node kept.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from common import kafka_client
from common.kafka_client import KafkaAccess
from netobs import broker_auth
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW
from tests import brokers
from tests.integration.pipeline import TOKEN, call, own_node_env, wait_for, wait_port

pytestmark = pytest.mark.integration

NODE_START_SECONDS = 120  # the embedded broker starts first: a few seconds alone, more on a busy machine


def _env(data: Path, ports: dict[str, int]) -> dict[str, str]:
    env = own_node_env(
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
    return env


def _start(data: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    log_path = data / f"run-{uuid.uuid4().hex[:6]}.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=_env(data, ports))
    wait_port(ports["mcp"], proc, log_path, timeout=NODE_START_SECONDS)
    return proc


def _send(port: int, marker: str, count: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(count):
            sock.sendto(f"<13>restart-test: {marker} line {i}".encode(), ("127.0.0.1", port))


def _stored(url: str, marker: str) -> int:
    rows = asyncio.run(call(url, "search_syslog", {"message_filter": marker, "limit": 1000, "start_time": "-1h"}))
    return len(rows)


def test_a_restarted_node_keeps_its_topics_stores_nothing_twice_and_replays(tmp_path: Path) -> None:
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp")}
    url = f"http://127.0.0.1:{ports['mcp']}/mcp"
    before, after = f"before-{uuid.uuid4().hex[:8]}", f"after-{uuid.uuid4().hex[:8]}"
    proc = _start(tmp_path, ports)
    try:
        _send(ports["syslog"], before, 50)
        wait_for(lambda: _stored(url, before) == 50, 60, "the lines sent before the restart")
    finally:
        brokers.stop(proc)
    assert (tmp_path / "kafka" / "meta.properties").exists(), "the broker's storage lives in the data directory"

    proc = _start(tmp_path, ports)
    try:
        _send(ports["syslog"], after, 20)
        wait_for(lambda: _stored(url, after) == 20, 60, "the lines sent after the restart")
        assert _stored(url, before) == 50, "the restarted worker went on from its committed offsets"
    finally:
        brokers.stop(proc)

    replay = subprocess.run(
        [sys.executable, "-m", "netobs", "replay"],
        env=_env(tmp_path, ports),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=NODE_START_SECONDS,
    )
    assert replay.returncode == 0, replay.stderr
    assert "emptied" in replay.stderr

    proc = _start(tmp_path, ports)
    try:
        wait_for(lambda: _stored(url, after) == 20, 60, "the replayed lines")
        assert _stored(url, before) == 50, "replay rebuilt every line the raw topic kept, each once"
    finally:
        brokers.stop(proc)


def _tree(pid: int) -> list[int]:
    """pid and every process below it."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for child, parent in (map(int, line.split()) for line in out.splitlines()):
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


async def _lines_in_raw_topic(kafka: KafkaAccess, marker: str) -> int:
    """Lines carrying marker in the raw topic, read from its start."""
    consumer = kafka_client.consumer(kafka, SYSLOG_RAW, auto_offset_reset="earliest")
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        lines = (line for records in batches.values() for r in records for line in raw_syslog.decode(r.value).lines)
        return sum(marker.encode() in line for line in lines)
    finally:
        await consumer.stop()


def test_a_node_killed_outright_stores_what_its_broker_took_once(tmp_path: Path) -> None:
    """SIGKILL to the node's whole process group (broker, receivers, worker at once): nothing the broker had
    acknowledged is lost, and what the worker had stored before the kill is not stored again."""
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp")}
    url = f"http://127.0.0.1:{ports['mcp']}/mcp"
    marker = f"killed-{uuid.uuid4().hex[:8]}"
    proc = _start(tmp_path, ports)
    try:
        _send(ports["syslog"], marker, 50)
        kafka = broker_auth.stage_access(tmp_path, f"127.0.0.1:{ports['kafka']}", "worker")
        wait_for(lambda: asyncio.run(_lines_in_raw_topic(kafka, marker)) == 50, 60, "the lines in the raw topic")
    finally:
        for pid in _tree(proc.pid):  # all at once: a parent-death signal would let the children stop cleanly
            os.kill(pid, signal.SIGKILL)
        brokers.stop(proc)
    proc = _start(tmp_path, ports)
    try:
        wait_for(lambda: _stored(url, marker) == 50, 60, "the lines taken before the kill")
        time.sleep(2)  # records redelivered past the last commit would show up as more than 50 by now
        assert _stored(url, marker) == 50
    finally:
        brokers.stop(proc)
