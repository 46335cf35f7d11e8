"""Inventory-topic records -> rows of nodes, pollings and networks. Pure: decoding and shaping, no I/O.

version is the record's offset, so the newest definition of an entity wins in ReplacingMergeTree however
often the topic is replayed. A delete keeps a row (deleted = 1) with the id, time and actor and empty
fields, so FINAL shows the entity gone. A record that does not decode gives no row (None): without a
valid kind and id there is no entity to write; the projector counts and logs it. An event whose signature
(inventory key) is missing or does not verify raises Refused: it is not an entity's definition.
"""

from __future__ import annotations

import msgspec

from common.signing import refusal
from processors.projector import Refused, Row
from processors.tables.column_values import INT32, UINT8, UINT32, bounded, micros
from schemas import inventory
from schemas.inventory import InventoryEvent
from schemas.tables import NETWORKS, NODES, POLLINGS

_thresholds_encoder = msgspec.json.Encoder()


def record_rows(value: bytes, offset: int, key: bytes) -> tuple[str, Row] | None:
    """(table, row) of one inventory record signed under key; None when the record is not a valid
    InventoryEvent; Refused when it is not signed under key."""
    try:
        event = inventory.decode(value)
    except ValueError:
        return None
    why = refusal(key, event)
    if why is not None:
        raise Refused(f"inventory event {event.kind}:{event.id} by {event.actor!r}: {why}")
    return event_row(event, offset)


def event_row(event: InventoryEvent, offset: int) -> tuple[str, Row]:
    """(table, row) of one inventory event at `offset`."""
    deleted = event.op == "delete"
    tail = {"deleted": deleted, "updated_at": micros(event.time_ns), "actor": event.actor, "version": offset}
    if event.kind == "node":
        n = event.node
        if deleted or n is None:
            return NODES, {
                "id": event.id,
                "name": "",
                "ip": "",
                "mac": "",
                "icon": "",
                "description": "",
                "x": 0,
                "y": 0,
                "snmp_credential": "",
                **tail,
            }
        return NODES, {
            "id": n.id,
            "name": n.name,
            "ip": n.ip,
            "mac": n.mac,
            "icon": n.icon,
            "description": n.description,
            "x": bounded(n.x, *INT32),
            "y": bounded(n.y, *INT32),
            "snmp_credential": n.snmp_credential,
            **tail,
        }
    if event.kind == "polling":
        p = event.polling
        if deleted or p is None:
            return POLLINGS, {
                "id": event.id,
                "node_id": "",
                "name": "",
                "kind": "",
                "params": {},
                "interval_s": 0,
                "timeout_s": 0.0,
                "retries": 0,
                "level": "",
                "thresholds": "[]",
                "logging": False,
                **tail,
            }
        return POLLINGS, {
            "id": p.id,
            "node_id": p.node_id,
            "name": p.name,
            "kind": p.kind,
            "params": dict(p.params),
            "interval_s": bounded(p.interval_s, *UINT32),
            "timeout_s": p.timeout_s,
            "retries": bounded(p.retries, *UINT8),
            "level": p.level,
            "thresholds": thresholds_json(p.thresholds),
            "logging": p.logging,
            **tail,
        }
    w = event.network
    if deleted or w is None:
        return NETWORKS, {"id": event.id, "name": "", "ip": "", "ports": [], "x": 0, "y": 0, "description": "", **tail}
    return NETWORKS, {
        "id": w.id,
        "name": w.name,
        "ip": w.ip,
        "ports": list(w.ports),
        "x": bounded(w.x, *INT32),
        "y": bounded(w.y, *INT32),
        "description": w.description,
        **tail,
    }


def thresholds_json(thresholds: list[inventory.Threshold]) -> str:
    """Thresholds as JSON objects ({"key", "op", "limit", "state"}): readable without knowing the wire's arrays."""
    return _thresholds_encoder.encode(
        [{"key": t.key, "op": t.op, "limit": t.limit, "state": t.state} for t in thresholds]
    ).decode()
