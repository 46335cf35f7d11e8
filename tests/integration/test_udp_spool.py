"""Hardening issue, finding 11, second half: with the broker away, UDP lines past the receivers' memory queue
(200,000 lines) were dropped. Now they wait in a bounded spool on disk and are sent, in order and once, when
the broker is back; past the spool's bound the newest are dropped and counted; a receiver killed with a
spool sends it at its next start.

Each test runs its own Apache Kafka (it is stopped and started again) and `netobs ingest` as a process.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.kafka_admin import ensure_topics
from ingest.spool import format as spool_format
from schemas.raw_syslog import decode
from schemas.topics import SYSLOG_RAW
from tests import brokers
from tests.integration.pipeline import node_env, wait_for, wait_port

pytestmark = pytest.mark.integration

PARTITIONS = 4
RATE = 20_000
"""Lines per second sent: well within what the receiver takes, so the kernel drops none."""
SOURCES = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
NUMBERED = re.compile(rb"spool seq (\d+) ")


def _line(seq: int) -> bytes:
    return (b"<13>Dec  4 13:00:00 host app: spool seq %d " % seq).ljust(100, b"x")


def _send(port: int, count: int, first: int = 0, text: bool = True) -> None:
    """count numbered lines (or primer lines) over UDP from four sources, paced at RATE."""
    socks = []
    for source in SOURCES:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        socks.append(sock)
    started = time.monotonic()
    try:
        for seq in range(first, first + count):
            line = _line(seq) if text else b"<13>primer line %d" % seq
            socks[seq % len(socks)].sendto(line, ("127.0.0.1", port))
            if seq % 500 == 0:
                ahead = (seq - first) / RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    finally:
        for sock in socks:
            sock.close()


class _Ingest:
    """`netobs ingest` on a fresh UDP+TCP port with open metrics, in data_dir."""

    def __init__(self, cluster: brokers.Cluster, data: Path, log_path: Path, **settings: str) -> None:
        self.port, self.metrics_port = brokers.free_port(), brokers.free_port()
        env = node_env(
            cluster,
            data,
            "ingest",
            NETOBS_SYSLOG_UDP_PORT=str(self.port),
            NETOBS_SYSLOG_TCP_PORT=str(self.port),
            NETOBS_SYSLOG_TLS_PORT="0",
            NETOBS_METRICS_PORT=str(self.metrics_port),
            NETOBS_METRICS_ACCESS="open",
            **settings,
        )
        self.log_path = log_path
        self.proc = brokers.spawn([sys.executable, "-m", "netobs", "ingest"], log_path, env=env)
        wait_port(self.port, self.proc, log_path, timeout=120)

    def metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as response:
            text = response.read().decode()
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            head, _, value = line.rpartition(" ")
            if head == (f"{name}{{{want}}}" if want else name):
                return float(value)
        raise AssertionError(f"{name} {labels} not in the metrics")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def _segments(data: Path) -> list[Path]:
    spool = data / "spool" / "syslog"
    return [p for p in spool.iterdir() if spool_format.segment_seq(p.name) is not None] if spool.exists() else []


def _stored(cluster: brokers.Cluster, expected: int, timeout: float = 180) -> collections.Counter[int]:
    """How often each numbered line is in the raw topic: read until `expected` are there, then 2 s more."""

    async def read() -> collections.Counter[int]:
        seen: collections.Counter[int] = collections.Counter()
        consumer = kafka_client.consumer(cluster.admin, enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(SYSLOG_RAW, p) for p in range(PARTITIONS)])
            deadline, settle = time.monotonic() + timeout, None
            while time.monotonic() < (settle or deadline):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        for line in decode(record.value).lines:
                            if found := NUMBERED.search(line):
                                seen[int(found.group(1))] += 1
                if settle is None and len(seen) >= expected:
                    settle = time.monotonic() + 2.0
        finally:
            await consumer.stop()
        return seen

    return asyncio.run(read())


def _start_broker(tmp_path: Path) -> tuple[int, Path, brokers.Cluster]:
    port, directory = brokers.free_port(), tmp_path / "kafka"
    cluster = brokers.start_apache_kafka(port, directory)
    asyncio.run(ensure_topics(cluster.admin, PARTITIONS, 1))  # as the node does: the ingest principal may not
    return port, directory, cluster


def _stall(ingest: _Ingest, data: Path) -> None:
    """With the broker gone, trickle primer lines until the receiver has seen it stall and spools, and has them all."""
    stop = threading.Event()
    sent = [0]

    def trickle() -> None:
        while not stop.is_set():
            _send(ingest.port, 10, first=sent[0], text=False)
            sent[0] += 10
            time.sleep(0.1)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        wait_for(lambda: _segments(data), 120, "the spool's first segment")
    finally:
        stop.set()
        thread.join()
    wait_for(lambda: ingest.metric("netobs_syslog_received_total", transport="udp") == sent[0], 30, "the primer in")


def test_udp_lines_past_the_memory_queue_wait_in_the_spool_and_are_stored_once_when_the_broker_returns(
    tmp_path: Path,
) -> None:
    lines = 260_000  # more than the 200,000 lines the memory queue holds
    port, directory, cluster = _start_broker(tmp_path)
    data = tmp_path / "data"
    ingest = _Ingest(cluster, data, tmp_path / "ingest.log")
    restarted = None
    try:
        brokers.stop(cluster.proc)  # the broker goes away: nothing is acknowledged from here on
        _send(ingest.port, lines)
        wait_for(lambda: ingest.metric("netobs_syslog_received_total", transport="udp") >= lines, 60, "all lines in")
        restarted = brokers.start_apache_kafka(port, directory)  # the same broker, its data and port, back
        seen = _stored(restarted, lines)
        missing = [seq for seq in range(lines) if seq not in seen]
        twice = [seq for seq, n in seen.items() if n > 1]
        assert (len(missing), len(twice), len(seen)) == (0, 0, lines), (missing[:10], twice[:10])
        assert ingest.metric("netobs_syslog_spooled_total", transport="udp") > lines - 200_000
        wait_for(lambda: not _segments(data), 60, "the spool to be emptied")
        assert ingest.metric("netobs_syslog_spool_records") == 0
        for reason in ("queue", "kernel", "spool_full", "spool_error"):
            assert ingest.metric("netobs_syslog_dropped_total", transport="udp", reason=reason) == 0, reason
        assert ingest.stop() == 0
    finally:
        brokers.stop(ingest.proc)
        brokers.stop(cluster.proc)
        if restarted is not None:
            brokers.stop(restarted.proc)


def test_past_the_spool_bound_the_newest_are_dropped_counted_and_a_killed_receiver_sends_its_spool_at_restart(
    tmp_path: Path,
) -> None:
    lines = 160_000  # a 16 MiB spool holds about 120,000 of these
    port, directory, cluster = _start_broker(tmp_path)
    data = tmp_path / "data"
    bound = {"NETOBS_SYSLOG_SPOOL_MAX_BYTES": str(16 * 1024 * 1024)}
    first = _Ingest(cluster, data, tmp_path / "first.log", **bound)
    restarted = second = None
    try:
        brokers.stop(cluster.proc)
        _stall(first, data)
        spooled = lambda: first.metric("netobs_syslog_spooled_total", transport="udp")  # noqa: E731
        full = lambda: first.metric("netobs_syslog_dropped_total", transport="udp", reason="spool_full")  # noqa: E731
        primer = spooled()
        _send(first.port, lines)
        wait_for(lambda: spooled() - primer + full() >= lines, 60, "every numbered line spooled or dropped")
        dropped, kernel = full(), first.metric("netobs_syslog_dropped_total", transport="udp", reason="kernel")
        assert dropped > 0 and kernel == 0
        assert first.metric("netobs_syslog_spool_bytes") <= 16 * 1024 * 1024
        os.killpg(first.proc.pid, signal.SIGKILL)  # a crash with a full spool
        first.proc.wait(10)
        restarted = brokers.start_apache_kafka(port, directory)
        second = _Ingest(restarted, data, tmp_path / "second.log", **bound)
        seen = _stored(restarted, lines - int(dropped))
        wait_for(lambda: not _segments(data), 60, "the spool to be emptied")
        assert second.stop() == 0
    finally:
        for proc in (first.proc, second.proc if second else None, cluster.proc, restarted.proc if restarted else None):
            if proc is not None:
                brokers.stop(proc)
    assert "left by a previous run" in (tmp_path / "second.log").read_text()
    assert all(n == 1 for n in seen.values()), "every spooled line stored once"
    for source in range(len(SOURCES)):  # a sender's lines are one partition's records, cut in their order
        kept = sorted(seq for seq in seen if seq % len(SOURCES) == source)
        assert kept == list(range(source, len(SOURCES) * len(kept), len(SOURCES))), "the newest are dropped"
    assert len(seen) + dropped == lines
