"""A worker killed (SIGKILL) in the middle of a stream and restarted leaves every line in ClickHouse exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from subprocess import Popen

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.kafka_admin import ensure_topics
from schemas.topics import SYSLOG_RAW
from tests import brokers
from tests.integration.pipeline import committed_raw, node_env, send_raw

pytestmark = pytest.mark.integration

RECORDS = 400
LINES_PER_RECORD = 100
PARTITIONS = 4


def _records(marker: str) -> Iterator[tuple[int, list[bytes]]]:
    """RECORDS records of LINES_PER_RECORD lines, round-robin over the partitions."""
    for r in range(RECORDS):
        partition = r % PARTITIONS
        yield (
            partition,
            [
                f"<134>Nov 22 05:00:00 fw{partition} kernel: {marker} drop r{r} l{i} src=10.1.{i % 200}.{r % 200} "
                f"dst=192.0.2.{i % 50} dpt={1000 + i}".encode()
                for i in range(LINES_PER_RECORD)
            ],
        )


def _start_worker(env: dict[str, str], log_path) -> Popen[bytes]:
    return brokers.spawn([sys.executable, "-m", "netobs", "worker"], log_path, env=env)


def test_killed_worker_stores_each_line_once(broker, tmp_path):
    group = f"netobs-worker-eo-{uuid.uuid4().hex[:8]}"  # the worker principal's groups
    marker = f"eo{uuid.uuid4().hex[:10]}"
    env = node_env(
        broker,
        tmp_path,
        "worker",
        NETOBS_WORKER_GROUP_ID=group,
        NETOBS_WORKER_BATCH_RECORDS="8",
        NETOBS_KAFKA_PARTITIONS=str(PARTITIONS),
        NETOBS_WORKER_SNAPSHOT_SECONDS="1",
    )
    asyncio.run(ensure_topics(broker.admin, PARTITIONS, 1))

    def committed() -> dict[int, int]:
        return asyncio.run(committed_raw(broker.admin, group, PARTITIONS))

    asyncio.run(send_raw(broker.admin, _records(marker), "127.0.0.1"))
    log_path = tmp_path / "worker.log"

    # Start at the end of what other tests left in the shared topic: this group begins where it finds it.
    worker = _start_worker(env, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not committed():
        assert worker.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    at_kill = committed()
    assert at_kill, "the worker never committed an offset"

    worker = _start_worker(env, log_path)
    try:

        async def end_offsets() -> dict[int, int]:
            consumer = kafka_client.consumer(broker.admin)
            await consumer.start()
            try:
                ends = await consumer.end_offsets([TopicPartition(SYSLOG_RAW, p) for p in range(PARTITIONS)])
            finally:
                await consumer.stop()
            return {tp.partition: o for tp, o in ends.items()}

        ends = asyncio.run(end_offsets())
        assert sum(at_kill.values()) < sum(ends.values()), "killed too late: the stream was already complete"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            if committed() == ends:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"worker did not catch up: committed {committed()}, end {ends}")
    finally:
        brokers.stop(worker)

    # The worker's embedded ClickHouse is read from a child: this process may hold another chdb path.
    query = (
        "SELECT count(), uniqExact(message), uniqExact(kafka_partition, kafka_offset, line_no) "
        "FROM netobs.syslog WHERE position(message, {m:String}) > 0"
    )
    script = (
        "import json, sys; from common.clickhouse import connect; c = connect(sys.argv[1]); "
        "print(json.dumps(c.query(sys.argv[2], parameters={'m': sys.argv[3]}).result_rows[0]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{(tmp_path / 'clickhouse').resolve()}", query, marker],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    total, unique_lines, unique_positions = json.loads(out.strip().splitlines()[-1])
    assert (total, unique_lines, unique_positions) == (RECORDS * LINES_PER_RECORD,) * 3
