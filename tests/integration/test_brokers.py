"""The Kafka stack the pipeline is built on works on Apache Kafka with authentication on (as netobs's super user).

What the rest of netobs relies on: topics with several partitions, keyed produce, consumer groups
whose committed offsets a restarted consumer resumes from, and a Faust agent reading with take().
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import NewTopic

from common import kafka_client
from common.kafka_client import KafkaAccess
from tests import brokers

pytestmark = pytest.mark.integration

PARTITIONS = 4
# Shorter sessions (Kafka's minimum is 6 s) keep these quick.
GROUP_TIMEOUTS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _create_topic(kafka: KafkaAccess, topic: str) -> None:
    admin = kafka_client.admin(kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
        # KRaft answers CreateTopics once the controller committed it; the broker's metadata follows a
        # moment later, so a describe right away may see the topic without its partitions yet.
        for _ in range(100):
            (described,) = await admin.describe_topics([topic])
            if len(described["partitions"]) == PARTITIONS:
                break
            await asyncio.sleep(0.1)
        assert len(described["partitions"]) == PARTITIONS
    finally:
        await admin.close()


async def _produce(kafka: KafkaAccess, topic: str, values: range) -> None:
    producer = kafka_client.producer(kafka, linger_ms=5)
    await producer.start()
    try:
        sends = [await producer.send(topic, str(i).encode(), key=f"k{i % 16}".encode()) for i in values]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _consume(consumer: AIOKafkaConsumer, count: int) -> dict[int, tuple[int, int]]:
    """Read `count` records: value -> (partition, offset)."""
    got: dict[int, tuple[int, int]] = {}
    while len(got) < count:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            got.update((int(r.value), (r.partition, r.offset)) for r in records)
    return got


async def test_partitions_produce_and_group_commit(broker: brokers.Cluster) -> None:
    topic, group = _name("t"), _name("g")
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    async with asyncio.timeout(90):
        await _create_topic(broker.admin, topic)
        await _produce(broker.admin, topic, range(200))

        first = kafka_client.consumer(
            broker.admin,
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **GROUP_TIMEOUTS,
        )
        await first.start()
        try:
            got = await _consume(first, 200)
            assert sorted(got) == list(range(200))
            assert set(first.assignment()) == set(partitions)
            await first.commit()
            next_offsets = {tp: 1 + max(o for p, o in got.values() if p == tp.partition) for tp in partitions}
            assert {tp: await first.committed(tp) for tp in partitions} == next_offsets
        finally:
            await first.stop()

        await _produce(broker.admin, topic, range(200, 210))
        second = kafka_client.consumer(
            broker.admin,
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **GROUP_TIMEOUTS,
        )
        await second.start()
        try:  # resumes from the commit: only what came after it, nothing from before
            assert sorted(await _consume(second, 10)) == list(range(200, 210))
            assert not await second.getmany(timeout_ms=1000)
        finally:
            await second.stop()


async def test_end_offsets_count_records(broker: brokers.Cluster) -> None:
    """Lag and Faust's table recovery read the log end from ListOffsets; it must count records."""
    topic = _name("end")
    tp = TopicPartition(topic, 0)
    async with asyncio.timeout(60):
        await _create_topic(broker.admin, topic)
        producer = kafka_client.producer(broker.admin, linger_ms=50)
        await producer.start()
        try:  # one batch of 50 records
            await asyncio.gather(*[await producer.send(topic, b"x", partition=0) for _ in range(50)])
        finally:
            await producer.stop()
        consumer = kafka_client.consumer(broker.admin)
        await consumer.start()
        try:
            assert (await consumer.end_offsets([tp]))[tp] == 50
        finally:
            await consumer.stop()


FAUST_APP = """
import json
import os

import faust

from common import kafka_client
from netobs import config

app = faust.App(
    os.environ["PROBE_ID"],
    **kafka_client.faust_settings(kafka_client.access(config.load().kafka)),
    store="memory://",
    topic_partitions=4,
    topic_replication_factor=1,
    web_enabled=False,
    broker_session_timeout=6,
    broker_heartbeat_interval=2,
)
topic = app.topic(os.environ["PROBE_TOPIC"], value_type=bytes, value_serializer="raw")
seen = set()
largest = 0


@app.agent(topic)
async def collect(stream):
    global largest
    async for batch in stream.take(500, within=1):
        seen.update(int(value) for value in batch)
        largest = max(largest, len(batch))
        tmp = os.environ["PROBE_OUT"] + ".tmp"
        with open(tmp, "w") as out:
            json.dump({"distinct": len(seen), "largest": largest}, out)
        os.replace(tmp, os.environ["PROBE_OUT"])


if __name__ == "__main__":
    app.main()
"""


def _read_progress(path: Path) -> dict[str, int]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


async def test_faust_agent_takes_batches(broker: brokers.Cluster, tmp_path: Path) -> None:
    count, topic = 3000, _name("faust")
    async with asyncio.timeout(30):
        await _create_topic(broker.admin, topic)
        await _produce(broker.admin, topic, range(count))
    (tmp_path / "probe_app.py").write_text(FAUST_APP)
    out, log = tmp_path / "progress.json", tmp_path / "worker.log"
    env = {
        **os.environ,
        "PROBE_ID": _name("probe"),
        **broker.env(),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "PROBE_TOPIC": topic,
        "PROBE_OUT": str(out),
    }
    worker = brokers.spawn([sys.executable, "probe_app.py", "worker", "-l", "warn"], log, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 90
        while _read_progress(out).get("distinct", 0) < count and time.monotonic() < deadline:
            assert worker.poll() is None, f"Faust worker exited:\n{log.read_text()[-3000:]}"
            await asyncio.sleep(0.25)
        progress = _read_progress(out)
        assert progress.get("distinct") == count, f"{progress}; worker log:\n{log.read_text()[-3000:]}"
        assert progress["largest"] > 1, "take() should hand over batches, not single records"
    finally:
        brokers.stop(worker)
