"""Hardening issue, finding 11: a broker away for longer than a send may take (Kafka stopped for 70 s made
receivers drop what they had accepted, "kafka send failed, dropping 105 tcp lines: KafkaTimeoutError"). Now
the record stays first in line and goes again when the broker answers: nothing accepted is dropped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from common.kafka_admin import ensure_topics
from ingest.counters import Counters, TransportCounters
from ingest.kafka_producer import BoundedProducer
from schemas.raw_syslog import WIRE_VERSION, RawBatch
from schemas.topics import SYSLOG_RAW
from tests import brokers

pytestmark = pytest.mark.integration

REQUEST_TIMEOUT_MS = 3000
DOWN_SECONDS = 10.0  # over three request timeouts: every record sent meanwhile fails at least once
RECORDS, LINES = 100, 2000


def _batch(i: int, lines: int) -> RawBatch:
    received = time.time_ns()
    return RawBatch(
        version=WIRE_VERSION,
        transport="tcp",
        sources=["192.0.2.7"] * lines,
        received_ns=[received] * lines,
        lines=[b"<13>broker outage record %d line %d" % (i, n) for n in range(lines)],
        flags=[0] * lines,
    )


def test_records_sent_while_the_broker_is_down_are_delivered_not_dropped(tmp_path: Path) -> None:
    port, directory = brokers.free_port(), tmp_path / "kafka"
    cluster = brokers.start_apache_kafka(port, directory)
    counters = Counters()
    counters.by_transport["tcp"] = TransportCounters()

    async def scenario() -> brokers.Cluster:
        await ensure_topics(cluster.admin, 4, 1)  # as the node does: a stage's principal may not create topics
        producer = BoundedProducer(
            cluster.stage("ingest"), SYSLOG_RAW, counters, max_bytes=64 << 20, request_timeout_ms=REQUEST_TIMEOUT_MS
        )
        assert await producer.start(4, asyncio.Event()) is not None
        producer.offer(0, _batch(0, LINES), force=True)
        brokers.stop(cluster.proc)  # the broker goes away: connections refused
        for i in range(1, RECORDS):  # more than a partition's 1 MiB producer batch holds: sends wait, then fail
            producer.offer(i % 4, _batch(i, LINES), force=True)
            await asyncio.sleep(DOWN_SECONDS / RECORDS)
        # the same broker, its data and port, back (as after a restart)
        restarted = await asyncio.to_thread(brokers.start_apache_kafka, port, directory)
        await producer.close(timeout=120)
        return restarted

    restarted = None
    try:
        restarted = asyncio.run(scenario())
    finally:
        brokers.stop(cluster.proc)
        if restarted is not None:
            brokers.stop(restarted.proc)
    tcp = counters["tcp"]
    assert (tcp.delivered, tcp.dropped) == (RECORDS * LINES, 0), vars(tcp)
    assert tcp.retried > 0, "the outage was meant to fail some sends"
