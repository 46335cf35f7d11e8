"""Reading one partition from its start to its end: how a component rebuilds what a topic holds."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

QUIET_MS = 700
"""An empty fetch this long at or past the reported end means the partition has been read (Tansu's end
offsets can be short of the last record, so the reported end alone is not trusted)."""


async def read_to_end(
    consumer: AIOKafkaConsumer, tp: TopicPartition, timeout: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the partition, in order; the consumer is left assigned to it, at its end."""
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    end = (await consumer.end_offsets([tp]))[tp]
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = await consumer.getmany(tp, timeout_ms=QUIET_MS)
        if not batch and await consumer.position(tp) >= end:
            return records
        records.extend(batch.get(tp, []))
    raise TimeoutError(f"{tp.topic} partition {tp.partition}: not read to its end within {timeout:g} s")
