"""A real single node, real traffic (logger over UDP and TCP, net-snmp's snmptrap with a good and a wrong
community, an MCP call), then its one metrics endpoint read with prometheus_client's own parser: every process
answers, and the counters say what was sent. `netobs status` is read against the same node, up and down."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import brokers
from tests.integration.pipeline import call, wait_for, wait_port

pytestmark = pytest.mark.integration
LOGGER, SNMPTRAP = shutil.which("logger"), shutil.which("snmptrap")
DASHBOARDS = Path(__file__).resolve().parents[2] / "examples" / "grafana" / "dashboards"


def scrape(port: int, token: str | None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, by (sample name, labels), as parsed by prometheus_client."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith(("netobs_", "process_")), family.name
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def exposed_names(port: int, token: str) -> set[str]:
    """Every name a PromQL expression may use for the families of the exposition, samples or not yet."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def dashboard_metrics() -> set[str]:
    """The metric names the Prometheus panels of examples/grafana/dashboards query."""
    found = set()
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == "prometheus":
                    found |= set(re.findall(r"\bnetobs_[a-z_]+", target["expr"]))
    return found


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _trap(port: int, community: str, marker: str) -> None:
    oid = "1.3.6.1.2.1.2.2.1.2.7"
    args = [SNMPTRAP, "-v", "2c", "-c", community, f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.3", oid, "s", marker]
    subprocess.run(args, check=True, timeout=10)


@pytest.mark.skipif(LOGGER is None or SNMPTRAP is None, reason="logger (bsdutils) and snmptrap (snmp) are needed")
def test_one_endpoint_counts_every_process_and_status_reads_it(tmp_path):
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp", "traps", "metrics")}
    env = dict(
        os.environ,
        NETOBS_DATA_DIR=str(tmp_path / "data"),
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_SNMP_TRAP_PORT=str(ports["traps"]),
        NETOBS_METRICS_PORT=str(ports["metrics"]),
    )
    for name in ("NETOBS_KAFKA", "NETOBS_CLICKHOUSE", "NETOBS_CONFIG"):
        env.pop(name, None)
    log_path = tmp_path / "run.log"
    node = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    marker = uuid.uuid4().hex[:10]
    try:
        wait_port(ports["mcp"], node, log_path, timeout=180)
        wait_port(ports["metrics"], node, log_path, timeout=30)
        token = (tmp_path / "data" / "mcp_token").read_text().strip()

        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(ports["metrics"], None)
        assert refused.value.code == 401, "metrics.access=token: no credential, no metrics"

        for transport, count in (("--udp", 3), ("--tcp", 2)):
            for i in range(count):
                line = f"metrics {marker} {i} via {transport}"
                subprocess.run([LOGGER, "-n", "127.0.0.1", "-P", str(ports["syslog"]), transport, line], check=True)
        _trap(ports["traps"], "public", marker)
        _trap(ports["traps"], "not-a-trap-community", marker)
        url = f"http://127.0.0.1:{ports['mcp']}/mcp"
        wait_for(
            lambda: len(asyncio.run(call(url, "search_syslog", {"message_filter": marker}, token=token))) == 5,
            90,
            "the five lines stored",
        )

        def counted():
            s = scrape(ports["metrics"], token)
            done = (
                value(s, "netobs_syslog_accepted_total", transport="udp", process="ingest") >= 3
                and value(s, "netobs_syslog_accepted_total", transport="tcp", process="ingest") >= 2
                and value(s, "netobs_traps_accepted_total", process="traps") >= 1
                and value(s, "netobs_traps_rejected_total", reason="community", process="traps") >= 1
            )
            return s if done else None

        s = wait_for(counted, 60, "syslog and trap counters")
        for process in ("node", "ingest", "traps", "poller", "executor"):
            assert value(s, "netobs_up", process=process) == 1, process
            assert value(s, "process_resident_memory_bytes", process=process) > 0, process
        assert value(s, "netobs_syslog_received_total", transport="udp", process="ingest") == 3
        assert value(s, "netobs_syslog_received_total", transport="tcp", process="ingest") == 2
        assert value(s, "netobs_syslog_dropped_total", transport="udp", reason="queue", process="ingest") == 0
        assert (
            "netobs_syslog_dropped_total",
            frozenset({("transport", "udp"), ("reason", "kernel"), ("process", "ingest")}),
        ) in s
        assert value(s, "netobs_syslog_connections", transport="tcp", process="ingest") == 0
        assert value(s, "netobs_traps_received_total", process="traps") == 2
        assert value(s, "netobs_clickhouse_rows_inserted_total", table="syslog", process="node") >= 5
        assert value(s, "netobs_clickhouse_insert_seconds_count", table="syslog", process="node") >= 1
        assert value(s, "netobs_worker_rows_stored_total", topic="netobs.syslog.raw", process="node") >= 5
        stored_in = value(s, "netobs_worker_store_delay_seconds_count", topic="netobs.syslog.raw", process="node")
        assert (
            stored_in >= 1
            and value(s, "netobs_worker_store_delay_seconds_sum", topic="netobs.syslog.raw", process="node") > 0
        )
        lags = [v for (name, labels), v in s.items() if name == "netobs_worker_consumer_lag"]
        assert lags and all(v >= 0 for v in lags)
        # A parse process (two by default, each started when its first partition comes) parsed the lines above.
        parse_rss = [v for (name, _), v in s.items() if name == "netobs_worker_parse_process_resident_bytes"]
        assert parse_rss and all(v > 0 for v in parse_rss)
        assert value(s, "netobs_mcp_tool_calls_total", tool="search_syslog", outcome="ok", process="node") >= 1
        assert ("netobs_polls_total", frozenset({("outcome", "ok"), ("process", "poller")})) in s

        wanted = dashboard_metrics()
        assert len(wanted) >= 15, wanted
        assert wanted <= exposed_names(ports["metrics"], token), wanted - exposed_names(ports["metrics"], token)

        status = subprocess.run(
            [sys.executable, "-m", "netobs", "status"], env=env, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stderr
        out = status.stdout
        assert "node is running" in out
        for process in ("ingest", "traps", "poller", "executor"):
            assert f"{process} up" in out, out
        assert re.search(r"\d parse process(es)?, \d+ MB resident", out), out
        assert "syslog udp: received 3 (" in out and "syslog tcp: received 2 (" in out, out
        assert "traps: received 2 (" in out and "accepted 1, rejected 1, dropped 0" in out, out
        assert "retention: ClickHouse 90 days" in out, out
    finally:
        node.send_signal(signal.SIGINT)
        assert node.wait(60) == 0, log_path.read_text()[-3000:]

    down = subprocess.run(
        [sys.executable, "-m", "netobs", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert down.returncode == 3, down.stdout + down.stderr
    assert "node is not running" in down.stdout
    assert "disk:" in down.stdout and "clickhouse" in down.stdout
