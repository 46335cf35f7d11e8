"""Events-topic records -> rows of event_log. Pure: decoding and shaping, no I/O.

A record that does not decode becomes one event of its own (type "system", level "warn") naming where
it sits in the topic, so an operator reading the event log learns of it; its id is derived from the
position, so a replay does not add it twice.
"""

from __future__ import annotations

from processors.projector import Row
from processors.tables.column_values import micros
from schemas import events
from schemas.events import Event
from schemas.topics import EVENTS


def record_rows(value: bytes, partition: int, offset: int, record_ns: int) -> list[Row]:
    """One row per event of an EventBatch record; one flagged system row when the record is not one."""
    try:
        batch = events.decode(value)
    except ValueError:
        return [event_row(undecodable_event(EVENTS, partition, offset, record_ns), partition, offset)]
    return [event_row(e, partition, offset) for e in batch.events]


def event_row(e: Event, partition: int, offset: int) -> Row:
    """The event_log row of one event."""
    return {
        "id": e.id,
        "time": micros(e.time_ns),
        "type": e.type,
        "level": e.level,
        "last_level": e.last_level,
        "node_id": e.node_id,
        "node_name": e.node_name,
        "polling_id": e.polling_id,
        "event": e.event,
        "downtime_s": e.downtime_s,
        "kafka_partition": partition,
        "kafka_offset": offset,
    }


def undecodable_event(topic: str, partition: int, offset: int, record_ns: int) -> Event:
    """The event that stands for a record of `topic` that could not be read; deterministic in its position."""
    return Event(
        id=f"undecodable:{topic}:{partition}:{offset}",
        time_ns=record_ns,
        type="system",
        level="warn",
        last_level="",
        node_id="",
        node_name="",
        event=f"Undecodable record in {topic} partition {partition} offset {offset}",
        downtime_s=0.0,
    )
