"""Inventory-topic records -> rows of nodes, pollings and networks. Pure: decoding and shaping, no I/O.

version is the record's offset, so the newest definition of an entity wins in ReplacingMergeTree however
often the topic is replayed. A delete keeps a row (deleted = 1) with the id, time and actor and empty
fields, so FINAL shows the entity gone. A record that does not decode gives no row (None): without a
valid kind and id there is no entity to write; the projector counts and logs it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from processors.tables.column_values import INT32, UINT8, UINT32, bounded, micros
from schemas import inventory
from schemas.inventory import InventoryEvent
from schemas.tables import NETWORKS, NODES, POLLINGS

Row = tuple[Any, ...]

NODE_COLUMNS = (
    "id",
    "name",
    "ip",
    "mac",
    "icon",
    "description",
    "x",
    "y",
    "snmp_credential",
    "deleted",
    "updated_at",
    "actor",
    "version",
)
POLLING_COLUMNS = (
    "id",
    "node_id",
    "name",
    "kind",
    "params",
    "interval_s",
    "timeout_s",
    "retries",
    "level",
    "thresholds",
    "logging",
    "deleted",
    "updated_at",
    "actor",
    "version",
)
NETWORK_COLUMNS = ("id", "name", "ip", "ports", "x", "y", "description", "deleted", "updated_at", "actor", "version")
COLUMNS = {NODES: NODE_COLUMNS, POLLINGS: POLLING_COLUMNS, NETWORKS: NETWORK_COLUMNS}

_thresholds_encoder = msgspec.json.Encoder()


def record_rows(value: bytes, offset: int) -> tuple[str, Row] | None:
    """(table, row) of one inventory record; None when the record is not a valid InventoryEvent."""
    try:
        event = inventory.decode(value)
    except ValueError:
        return None
    return event_row(event, offset)


def event_row(event: InventoryEvent, offset: int) -> tuple[str, Row]:
    """(table, row) of one inventory event at `offset`."""
    deleted = event.op == "delete"
    tail = (deleted, micros(event.time_ns), event.actor, offset)
    if event.kind == "node":
        n = event.node
        if deleted or n is None:
            return NODES, (event.id, "", "", "", "", "", 0, 0, "", *tail)
        x, y = bounded(n.x, *INT32), bounded(n.y, *INT32)
        return NODES, (n.id, n.name, n.ip, n.mac, n.icon, n.description, x, y, n.snmp_credential, *tail)
    if event.kind == "polling":
        p = event.polling
        if deleted or p is None:
            return POLLINGS, (event.id, "", "", "", {}, 0, 0.0, 0, "", "[]", False, *tail)
        return POLLINGS, (
            p.id,
            p.node_id,
            p.name,
            p.kind,
            dict(p.params),
            bounded(p.interval_s, *UINT32),
            p.timeout_s,
            bounded(p.retries, *UINT8),
            p.level,
            thresholds_json(p.thresholds),
            p.logging,
            *tail,
        )
    w = event.network
    if deleted or w is None:
        return NETWORKS, (event.id, "", "", [], 0, 0, "", *tail)
    x, y = bounded(w.x, *INT32), bounded(w.y, *INT32)
    return NETWORKS, (w.id, w.name, w.ip, list(w.ports), x, y, w.description, *tail)


def thresholds_json(thresholds: list[inventory.Threshold]) -> str:
    """Thresholds as JSON objects ({"key", "op", "limit", "state"}): readable without knowing the wire's arrays."""
    return _thresholds_encoder.encode(
        [{"key": t.key, "op": t.op, "limit": t.limit, "state": t.state} for t in thresholds]
    ).decode()
