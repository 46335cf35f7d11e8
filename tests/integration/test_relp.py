"""RELP: real rsyslog (omrelp) sends to netobs, which answers a frame only once the broker has its line.

- The protocol's edges on the receiver in this process (serve()), with a plain socket speaking RELP.
- rsyslog -> `netobs run` -> ClickHouse: every line stored exactly once, read back with run_select_query.
- rsyslog -> `netobs ingest`, SIGKILLed and restarted twice while lines flow: none lost (the raw topic is
  read back); duplicates are counted and printed (at-least-once: a line the broker took whose answer never
  left the killed process is sent again). The 100,000-line run with figures is bench/relp.py.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from pathlib import Path

import pytest

from common.config import SyslogConfig
from common.kafka_admin import ensure_topics
from ingest.counters import Counters
from ingest.syslog import relp
from ingest.syslog.service import serve
from tests import brokers
from tests.brokers import Cluster
from tests.integration.pipeline import TOKEN, call, node_env, wait_for, wait_port
from tests.rsyslog import Rsyslog, numbered, raw_line_numbers, relp_kill_run

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

OPEN = b"relp_version=0\nrelp_software=test\ncommands=syslog"
NUMBER = re.compile(rb" line (\d+)$")


async def _frames(reader: asyncio.StreamReader, count: int) -> list[relp.Frame]:
    frames = relp.FrameReader(1 << 20)
    got: list[relp.Frame] = []
    while len(got) < count:
        data = await asyncio.wait_for(reader.read(65536), 20)
        if not data:
            break
        got += frames.feed(data)
    return got


async def test_the_receiver_answers_after_the_broker_and_refuses_bad_frames(broker: Cluster) -> None:
    await ensure_topics(broker.admin, 3, 1)  # as the node does: the ingest principal may not create topics
    port = brokers.free_port()
    config = SyslogConfig(udp_port=0, tcp_port=0, tls_port=0, relp_port=port, batch_ms=50, max_line_bytes=1024)
    counters, stop, ready = Counters(), asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(config, broker.stage("ingest"), 3, stop, ready, counters=counters))
    await asyncio.wait_for(ready.wait(), 60)
    marker = f"relp-edge-{uuid.uuid4().hex[:8]}"
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(relp.encode(1, "syslog", b"too early"))
        writer.write(relp.encode(2, "open", OPEN))
        for i, line in enumerate(numbered(marker, 5)):
            writer.write(relp.encode(3 + i, "syslog", line))
        writer.write(relp.encode(8, "bogus", b"x"))
        writer.write(relp.encode(9, "close"))
        answers = await _frames(reader, 8)
        assert [(a.txnr, a.command) for a in answers] == [(n, "rsp") for n in range(1, 10) if n != 10]
        assert answers[0].data.startswith(b"500 ")
        assert answers[1].data.startswith(b"200 OK\nrelp_version=0")
        assert all(a.data == b"200 OK" for a in answers[2:7])
        assert answers[7].data.startswith(b"500 unknown command")
        assert answers[8].data == b"200 OK"
        assert await reader.read() == b"", "the session ends after close"
        writer.close()
        # The five lines answered 200 are in the broker already: answered means acknowledged.
        found, _ = await raw_line_numbers(broker.admin, marker, until=5, timeout=20, quiet=1)
        assert sorted(found.elements()) == list(range(5))

        for garbage in (b"1 open 3x abc\n", b"1 syslog 2000 " + b"a" * 100, b"nonsense\n" * 10):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(garbage)
            assert await asyncio.wait_for(reader.read(), 20) == relp.SERVER_CLOSE
            writer.close()
        assert counters["relp"].framing == 3

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(relp.encode(1, "open", OPEN) + relp.encode(2, "syslog", numbered(marker, 6)[5]))
        answers = await _frames(reader, 2)
        assert [a.data[:6] for a in answers] == [b"200 OK", b"200 OK"], "the receiver goes on after bad input"
        writer.close()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert counters["relp"].received == counters["relp"].delivered == 6


def test_rsyslog_lines_through_relp_are_stored_exactly_once(broker: Cluster, tmp_path: Path) -> None:
    count = 5000
    ports = {name: brokers.free_port() for name in ("relp", "mcp")}
    env = node_env(
        broker,
        tmp_path / "node",
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_RELP_PORT=str(ports["relp"]),
        NETOBS_SYSLOG_BATCH_MS="20",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_GROUP_ID=f"relp-{uuid.uuid4().hex[:8]}",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = tmp_path / "run.log"
    node = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    sender = None
    try:
        wait_port(ports["mcp"], node, log_path, timeout=120)
        url = f"http://127.0.0.1:{ports['mcp']}/mcp"
        sender = Rsyslog(tmp_path / "rsyslog", ports["relp"])
        marker = f"relp-{uuid.uuid4().hex[:8]}"
        sender.send(numbered(marker, count))
        query = (
            "SELECT count() AS n, uniqExact(message) AS lines, "
            "min(toUInt32(extract(message, 'line ([0-9]+)$'))) AS first, "
            "max(toUInt32(extract(message, 'line ([0-9]+)$'))) AS last, any(transport) AS transport "
            f"FROM syslog WHERE position(message, '{marker}') > 0"
        )

        def stored() -> list[object]:
            rows = asyncio.run(call(url, "run_select_query", {"query": query}))["rows"]
            return rows[0] if rows and rows[0][0] >= count else []

        wait_for(stored, 120, f"{count} lines from rsyslog in the syslog table")
        time.sleep(2)  # a line stored twice would show up by now
        n, lines, first, last, transport = asyncio.run(call(url, "run_select_query", {"query": query}))["rows"][0]
        assert (n, lines, first, last, transport) == (count, count, 0, count - 1, "relp")
    finally:
        if sender is not None:
            sender.stop()
        brokers.stop(node)


def test_rsyslog_loses_nothing_while_the_receiver_is_killed_twice(broker: Cluster, tmp_path: Path) -> None:
    count = 20_000
    found, seconds = relp_kill_run(broker, tmp_path, count, per_second=4000, kills=2)
    lost = count - len(found)
    duplicates = sum(found.values()) - len(found)
    print(f"relp kill test: {count} lines, {lost} lost, {duplicates} duplicates, {seconds:.1f} s")
    starts = (tmp_path / "ingest.log").read_text().count("syslog relp listening")
    last = re.findall(r"syslog ingest stopped: \{'relp': \{'received': (\d+)", (tmp_path / "ingest.log").read_text())
    assert starts == 3 and len(last) == 1, "two receivers died without stopping, the third stopped"
    assert 0 < int(last[0]) < count, "the kills came while lines were flowing"
    assert lost == 0
    assert set(found) == set(range(count))
