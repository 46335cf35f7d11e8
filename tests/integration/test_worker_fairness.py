"""Hardening issue, finding 9 on a single node: one worker holds every partition, and the records of a flood
(garbage, which mines slowly) sat ahead of another partition's records in its agent's one queue, so a clean
sender's lines waited for the flood's. Now the agent holds a queue per partition and each batch takes from every
partition with something waiting.

A real `netobs worker` against the real broker: a backlog of garbage in one partition, then a few clean lines in
another. Counted in the flood's records stored (committed offsets, read from the broker) between the clean lines
being sent and their being stored, never in seconds."""

from __future__ import annotations

import asyncio
import json
import random
import string
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW
from tests import brokers
from tests.integration.pipeline import node_env

pytestmark = pytest.mark.integration

PARTITIONS = 4
FLOOD, NEIGHBOUR = 1, 0
FLOOD_RECORDS, LINES_PER_RECORD = 600, 500
NEIGHBOUR_RECORDS, NEIGHBOUR_LINES = 3, 10
RESUMED = 200
"""Records of the flood stored once it was paused for holding too much and fetched again (a pause that was never
lifted, or lifted wrongly, stopped the worker's fetching: Faust's fetcher crashed on a partition of the wrong
type)."""
BEFORE = 200
"""Before, a batch took up to worker.batch_records (200) records in the order Faust's one queue for the topic
held them, and up to worker.buffer_records (128) of the flood's were fetched ahead of anything another partition
sent: on main, 317 of the flood's records were stored between the clean lines being sent and their being stored
in one run, and in another all 600 were stored before the clean lines (now 11-13 on the same machine)."""


def _garbage(seed: int, count: int) -> list[list[bytes]]:
    """count records of lines of random words, each line a new shape for the miner: LINES_PER_RECORD * 100
    distinct lines, repeated past that (the test is decided in its first few dozen records)."""
    rng = random.Random(seed)
    letters = bytes(string.ascii_letters.encode()[b % 52] for b in range(256))
    lines = []
    for _ in range(LINES_PER_RECORD * 100):
        text = rng.randbytes(66).translate(letters)
        words = b" ".join(text[i : i + 6] for i in range(0, 66, 6))
        lines.append(b"<13>Dec  4 10:00:00 noisy " + words[:6] + b": " + words[7:])
    return [[lines[(r * LINES_PER_RECORD + i) % len(lines)] for i in range(LINES_PER_RECORD)] for r in range(count)]


async def _send(kafka: KafkaAccess, partition: int, batches: list[list[bytes]], source: str) -> None:
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for lines in batches:
            batch = raw_syslog.RawBatch(
                version=1,
                transport="udp",
                received_ns=[time.time_ns()] * len(lines),
                sources=[source] * len(lines),
                lines=lines,
                flags=[0] * len(lines),
            )
            await producer.send_and_wait(SYSLOG_RAW, raw_syslog.encode(batch), partition=partition)
    finally:
        await producer.stop()


async def _offsets(kafka: KafkaAccess, group: str, commit_ends: bool = False) -> dict[int, int]:
    """The group's committed offset per partition; commit_ends first commits the topic's end offsets, so that
    the group starts after what other tests left in the shared topic."""
    consumer = kafka_client.consumer(kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(SYSLOG_RAW, p) for p in range(PARTITIONS)]
    try:
        if commit_ends:
            consumer.assign(tps)
            await consumer.commit(await consumer.end_offsets(tps))
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in tps}
    finally:
        await consumer.stop()


def test_clean_lines_do_not_wait_behind_another_partitions_flood(broker, tmp_path: Path) -> None:
    group = f"netobs-worker-fair-{uuid.uuid4().hex[:8]}"
    marker = f"fair{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(broker.admin, PARTITIONS, 1))
    start = asyncio.run(_offsets(broker.admin, group, commit_ends=True))
    asyncio.run(_send(broker.admin, FLOOD, _garbage(9, FLOOD_RECORDS), "127.0.0.2"))
    env = node_env(broker, tmp_path, "worker", NETOBS_WORKER_GROUP_ID=group, NETOBS_KAFKA_PARTITIONS=str(PARTITIONS))
    log_path = tmp_path / "worker.log"
    worker = brokers.spawn([sys.executable, "-m", "netobs", "worker"], log_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while (sent_at := asyncio.run(_offsets(broker.admin, group)))[FLOOD] < start[FLOOD] + 5:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker stored nothing of the flood"
            time.sleep(0.1)
        clean = [
            [f"<13>Dec  4 10:00:01 quiet app: {marker} r{r} l{i}".encode() for i in range(NEIGHBOUR_LINES)]
            for r in range(NEIGHBOUR_RECORDS)
        ]
        asyncio.run(_send(broker.admin, NEIGHBOUR, clean, "127.0.0.3"))
        neighbour_end = start[NEIGHBOUR] + NEIGHBOUR_RECORDS
        while (stored_at := asyncio.run(_offsets(broker.admin, group)))[NEIGHBOUR] < neighbour_end:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline + 300, "the clean lines were never stored"
            time.sleep(0.1)
        # The worker holds at most a quarter of worker.batch_bytes of a partition (84 of these records), so it
        # has paused the flood's partition and must have fetched it again to get this far.
        while asyncio.run(_offsets(broker.admin, group))[FLOOD] < start[FLOOD] + RESUMED:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline + 600, "the flood's partition was never fetched again"
            time.sleep(0.2)
    finally:
        brokers.stop(worker)
    behind = stored_at[FLOOD] - sent_at[FLOOD]
    assert stored_at[FLOOD] < start[FLOOD] + FLOOD_RECORDS, "the flood was all stored first"
    assert behind < BEFORE // 5, f"{behind} of the flood's records were stored before the clean ones"

    script = (
        "import json, sys; from common.clickhouse import connect; c = connect(sys.argv[1]); "
        "print(json.dumps(c.query('SELECT count(), uniqExact(message) FROM netobs.syslog "
        "WHERE position(message, {m:String}) > 0', parameters={'m': sys.argv[2]}).result_rows[0]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{(tmp_path / 'clickhouse').resolve()}", marker],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [NEIGHBOUR_RECORDS * NEIGHBOUR_LINES] * 2
