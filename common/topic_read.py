"""Reading one partition to its end: how a component rebuilds what a topic holds."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

FETCH_MS = 700
"""How long one fetch waits for records. The consumer's position runs ahead of the records it has returned
(it prefetches), so the end is known by the offsets of the records read."""


async def read_to_end(
    consumer: AIOKafkaConsumer, tp: TopicPartition, timeout: float = 60.0, last: int | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """The partition's records up to its end offset at the call, in order: from its start or, given last, only
    its last that many. The consumer is left assigned to the partition, there."""
    consumer.assign([tp])
    end = (await consumer.end_offsets([tp]))[tp]
    following = (await consumer.beginning_offsets([tp]))[tp]
    if last is not None:
        following = max(following, end - last)
    consumer.seek(tp, following)
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    while following < end:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{tp.topic} partition {tp.partition}: not read to its end within {timeout:g} s")
        batch = (await consumer.getmany(tp, timeout_ms=FETCH_MS)).get(tp, [])
        if batch:
            records.extend(batch)
            following = batch[-1].offset + 1
        elif await consumer.position(tp) >= end:
            break  # the last offsets hold no record (compacted away, or transaction markers)
    return records
