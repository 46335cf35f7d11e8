"""Inventory records -> nodes/pollings/networks rows: version is the offset, deletes keep a row."""

import json

import msgspec
import pytest

from common.signing import sign
from processors.projector import Refused
from processors.tables import inventory_rows
from schemas import inventory
from schemas.inventory import InventoryEvent, Network, Node, Polling, Threshold
from tests.signing_keys import KEYS

KEY = KEYS["inventory"]


def test_node_upsert_and_delete():
    node = Node(id="n1", name="router", ip="192.0.2.1", x=2**40)
    up = InventoryEvent(kind="node", op="upsert", id="n1", time_ns=2_000_000, actor="cli", node=node)
    table, row = inventory_rows.record_rows(inventory.encode(sign(KEY, up)), 12, KEY)
    assert table == "nodes"
    assert (row["name"], row["ip"], row["icon"], row["version"], row["deleted"]) == (
        "router",
        "192.0.2.1",
        "desktop",
        12,
        False,
    )
    assert (row["x"], row["updated_at"], row["actor"]) == (2**31 - 1, 2_000, "cli")
    gone = InventoryEvent(kind="node", op="delete", id="n1", time_ns=3_000_000, actor="mcp:alice")
    table, row = inventory_rows.record_rows(inventory.encode(sign(KEY, gone)), 13, KEY)
    assert (table, row["id"], row["deleted"], row["version"], row["name"], row["actor"]) == (
        "nodes",
        "n1",
        True,
        13,
        "",
        "mcp:alice",
    )


def test_polling_keeps_params_and_readable_thresholds():
    polling = Polling(
        id="p1",
        node_id="n1",
        name="ping",
        kind="ping",
        params={"count": "3"},
        retries=999,
        thresholds=[Threshold("rtt_ms", ">", 500.0, "warn")],
    )
    up = InventoryEvent(kind="polling", op="upsert", id="p1", time_ns=1, actor="cli", polling=polling)
    table, row = inventory_rows.record_rows(inventory.encode(sign(KEY, up)), 0, KEY)
    assert table == "pollings"
    assert row["params"] == {"count": "3"}
    assert row["retries"] == 255
    assert json.loads(row["thresholds"]) == [{"key": "rtt_ms", "op": ">", "limit": 500.0, "state": "warn"}]
    assert (row["interval_s"], row["level"], row["logging"]) == (60, "low", True)


def test_network_and_undecodable():
    net = Network(id="w1", name="lab", ip="192.0.2.0/24", ports=["1", "2"])
    up = InventoryEvent(kind="network", op="upsert", id="w1", time_ns=1, actor="cli", network=net)
    table, row = inventory_rows.record_rows(inventory.encode(sign(KEY, up)), 5, KEY)
    assert (table, row["ports"], row["ip"]) == ("networks", ["1", "2"], "192.0.2.0/24")
    assert inventory_rows.record_rows(b"{not json", 0, KEY) is None
    mismatched = b'{"kind":"node","op":"upsert","id":"x","time_ns":1,"actor":"a","node":{"id":"y","name":"n","ip":"1"}}'
    assert inventory_rows.record_rows(mismatched, 0, KEY) is None


def test_an_unsigned_or_altered_event_is_refused():
    node = Node(id="n1", name="core", ip="192.0.2.1", snmp_credential="rw")
    up = InventoryEvent(kind="node", op="upsert", id="n1", time_ns=1, actor="mcp:admin", node=node)
    moved = msgspec.structs.replace(sign(KEY, up), node=msgspec.structs.replace(node, ip="203.0.113.9"))
    for forged, why in ((up, "unsigned"), (moved, "does not verify")):
        with pytest.raises(Refused, match=why):
            inventory_rows.record_rows(inventory.encode(forged), 4, KEY)
