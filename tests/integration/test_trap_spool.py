"""Hardening issue, finding 11, for traps: with the broker away, traps past the memory queue or a stop were
dropped. Now they wait in the trap spool and are published once when the broker is back, also by the next
run of the receiver. net-snmp's snmptrap sends; a broker of the test's own is stopped and started again."""

from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import shutil
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.config import SnmpConfig
from ingest.spool import format as spool_format
from ingest.traps.service import TrapCounters, serve
from tests import brokers
from tests.integration.pipeline import node_env
from tests.integration.test_traps import PARTITIONS, _mark, _snmptrap, _traps_since, _until, _v2_pdu, snmp_env

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp snmptrap is not installed"),
]
__all__ = ["snmp_env"]  # the fixture, used by name


@contextlib.asynccontextmanager
async def _receiving(cluster: brokers.Cluster, spool: Path) -> AsyncIterator[tuple[TrapCounters, int]]:
    port = brokers.free_port()
    counters = TrapCounters()
    stop, ready = asyncio.Event(), asyncio.Event()
    config = SnmpConfig(trap_port=port, trap_batch_ms=20)
    task = asyncio.create_task(
        serve(
            config,
            {},
            cluster.stage("traps"),
            PARTITIONS,
            stop,
            ready,
            counters=counters,
            drain_seconds=3,
            spool_dir=spool,
        )
    )
    await asyncio.wait_for(ready.wait(), 120)
    try:
        yield counters, port
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def _segments(spool: Path) -> list[Path]:
    return [p for p in spool.iterdir() if spool_format.segment_seq(p.name) is not None]


async def test_traps_wait_in_the_spool_while_the_broker_is_away_and_are_published_once_after(
    tmp_path: Path, snmp_env: dict[str, str]
) -> None:
    """`netobs traps` (a process: it exits at its stop, as in a node) spools during the outage and at its stop;
    the next run, here in-process to read its counters, publishes what it finds."""
    kafka_port, directory, data = brokers.free_port(), tmp_path / "kafka", tmp_path / "data"
    spool = data / "spool" / "traps"
    cluster = await asyncio.to_thread(brokers.start_apache_kafka, kafka_port, directory)
    restarted = None
    marker = uuid.uuid4().hex
    sent = 0
    port, log_path = brokers.free_port(), tmp_path / "traps.log"
    env = node_env(cluster, data, "traps", NETOBS_SNMP_TRAP_PORT=str(port), NETOBS_METRICS_PORT="0")
    first = brokers.spawn([sys.executable, "-m", "netobs", "traps"], log_path, env=env)
    try:
        mark = await _mark(cluster)
        await _until(lambda: "snmp traps listening" in log_path.read_text(), "the receiver to listen", timeout=120)
        await asyncio.to_thread(brokers.stop, cluster.proc)
        while not (spool.exists() and _segments(spool)):  # until it sees the broker stalled (5 s without an answer)
            await _snmptrap(snmp_env, port, ["-v2c", "-c", "public"], _v2_pdu(marker, f"n{sent}"))
            sent += 1
        for _ in range(20):
            await _snmptrap(snmp_env, port, ["-v2c", "-c", "public"], _v2_pdu(marker, f"n{sent}"))
            sent += 1
        first.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(first.wait, 60) == 0
        stopped = next(line for line in log_path.read_text().splitlines() if "snmp trap ingest stopped" in line)
        counters = ast.literal_eval(stopped.split("stopped: ", 1)[1])
        assert (counters["accepted"], counters["delivered"], counters["dropped"]) == (sent, 0, 0)
        assert counters["spooled"] == sent, "those in memory at the stop went to the spool too"
        restarted = await asyncio.to_thread(brokers.start_apache_kafka, kafka_port, directory)
        async with _receiving(restarted, spool) as (again, _):
            found = await _traps_since(restarted.admin, mark, marker, sent)
            await _until(lambda: not _segments(spool), "the spool to be emptied", timeout=60)
        assert again.delivered == sent and again.spool.restored_lines == sent
    finally:
        brokers.stop(first)
        brokers.stop(cluster.proc)
        if restarted is not None:
            brokers.stop(restarted.proc)
    labels = collections.Counter(next(v.value for v in trap.varbinds if marker in v.value) for _, trap in found)
    assert labels == {f"{marker} n{i}": 1 for i in range(sent)}
