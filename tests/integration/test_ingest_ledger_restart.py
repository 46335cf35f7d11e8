"""Hardening issue, finding 12: a crash of the receivers left no trace of what they had accepted. Now a start
after an unclean end says so, with what was at risk; a start after a clean stop says nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from common.kafka_admin import ensure_topics
from tests import brokers
from tests.brokers import Cluster
from tests.integration.pipeline import node_env, wait_for, wait_port

pytestmark = pytest.mark.integration
UNCLEAN = "ended without a clean stop"


def _ingest(broker: Cluster, data: Path, port: int, log_path: Path):
    env = node_env(
        broker,
        data,
        "ingest",
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT=str(port),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_METRICS_PORT="0",
    )
    proc = brokers.spawn([sys.executable, "-m", "netobs", "ingest"], log_path, env=env)
    wait_port(port, proc, log_path, timeout=60)
    return proc


def test_a_start_after_a_crash_reports_what_was_at_risk(broker: Cluster, tmp_path: Path) -> None:
    data, port = tmp_path / "data", brokers.free_port()
    asyncio.run(ensure_topics(broker.admin, 4, 1))  # as a node does first: the ingest principal may not create it
    ledger = data / "state" / "ingest-syslog.json"
    first = _ingest(broker, data, port, tmp_path / "first.log")
    try:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"".join(b"<13>ledger line %d\n" % i for i in range(500)))
        wait_for(lambda: ledger.exists() and json.loads(ledger.read_text())["transports"].get("tcp"), 30, "an entry")
        entry = json.loads(ledger.read_text())
        assert entry["clean"] is False and entry["pid"] == first.pid
        assert ledger.stat().st_mode & 0o077 == 0
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        brokers.stop(first)

    second = _ingest(broker, data, port, tmp_path / "second.log")
    try:
        wait_for(lambda: UNCLEAN in (tmp_path / "second.log").read_text(), 30, "the report of the unclean end")
        report = next(line for line in (tmp_path / "second.log").read_text().splitlines() if UNCLEAN in line)
        assert f"pid {first.pid}" in report and "lines it had accepted were not yet confirmed" in report
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        brokers.stop(second)
    assert json.loads(ledger.read_text())["clean"] is True

    third = _ingest(broker, data, port, tmp_path / "third.log")
    brokers.stop(third)
    assert UNCLEAN not in (tmp_path / "third.log").read_text(), "a clean stop leaves nothing to report"
