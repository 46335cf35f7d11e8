"""Publishing inventory events: read the compacted inventory topic to its end, then append events.

Used by `netobs inventory seed` and at node start (inventory.seed_file); the command executor of the
actions issue will publish through it too. Keys are "<kind>:<id>" so compaction keeps each entity's
last definition. Events are signed with the inventory key (common.signing), and events read back that do not
verify under it are left out of the inventory the seed compares with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from aiokafka import TopicPartition

from common import kafka_client, signing
from common.kafka_client import KafkaAccess
from common.topic_read import read_to_end
from executor import inventory
from schemas import inventory as wire
from schemas.inventory import InventoryEvent
from schemas.topics import INVENTORY

log = logging.getLogger(__name__)


async def read_inventory(kafka: KafkaAccess, key: bytes, timeout: float = 60.0) -> inventory.Inventory:
    """The current inventory: every genuine event of the topic, applied in order. Undecodable records and events
    that do not verify under the inventory key are skipped."""
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        records = await read_to_end(consumer, TopicPartition(INVENTORY, 0), timeout)
    finally:
        await consumer.stop()
    events: list[InventoryEvent] = []
    for record in records:
        try:
            event = wire.decode(record.value)
        except ValueError:
            log.warning("inventory offset %d: undecodable event skipped", record.offset)
            continue
        why = signing.refusal(key, event)
        if why is None:
            events.append(event)
        else:
            log.warning("inventory offset %d: event refused (%s), skipped", record.offset, why)
    return inventory.project(events)


async def publish(kafka: KafkaAccess, key: bytes, events: Sequence[InventoryEvent]) -> None:
    """Sign events and append them to the inventory topic, in order, acknowledged by the broker."""
    if not events:
        return
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send(INVENTORY, wire.encode(signing.sign(key, event)), key=event.key, partition=0)
        await producer.flush()
    finally:
        await producer.stop()


async def seed(kafka: KafkaAccess, path: str | Path, key: bytes) -> list[InventoryEvent]:
    """Publish what the seed file defines and the topic lacks (or has differently); returns what was published.
    key is the inventory key."""
    existing = await read_inventory(kafka, key)
    events = await asyncio.to_thread(inventory.seed_events, path, existing, time.time_ns())
    await publish(kafka, key, events)
    log.info("inventory seed %s: %d event(s) published", path, len(events))
    return events
