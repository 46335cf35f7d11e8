"""Wire format of the events topic: event log entries (TWSNMP's event log), many per Kafka record.

State changes of pollings and nodes are written by the state machine; other stages add their own types
(e.g. "mcp" for add_event_log). Every entry has a deterministic id, so a replay does not add it twice.
"""

from __future__ import annotations

import msgspec

WIRE_VERSION = 1

STATES = ("normal", "warn", "low", "high", "repair", "unknown")
"""Polling and node states. Severity order for a node's state: high > low > warn > repair > normal;
unknown counts only when nothing else is known."""


class Event(msgspec.Struct, array_like=True, frozen=True):
    """One event log entry."""

    id: str
    """Deterministic: derived from what caused the event (e.g. the polling id and the poll's time)."""
    time_ns: int
    type: str
    """polling, node, mcp, system, ..."""
    level: str
    """The new state for state changes (normal, warn, low, high, repair, unknown); info, warn, ... otherwise."""
    last_level: str
    """The previous state for state changes; empty otherwise."""
    node_id: str
    node_name: str
    event: str
    """Text, e.g. "Change polling state:ping 192.0.2.1(ping)"."""
    downtime_s: float
    """For a return to normal or repair: seconds since the failure began; 0 otherwise."""
    polling_id: str = ""


class EventBatch(msgspec.Struct, array_like=True, frozen=True):
    version: int
    events: list[Event]

    def __len__(self) -> int:
        return len(self.events)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(EventBatch)


def encode(batch: EventBatch) -> bytes:
    """Serialise a batch for the events topic."""
    return _encoder.encode(batch)


def decode(data: bytes) -> EventBatch:
    """Read a batch from the events topic; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    return _decoder.decode(data)
