"""executor.inventory: node/polling/network events, the projection, ids, and seeding from TOML."""

from functools import reduce
from pathlib import Path

import pytest

from common.config import ConfigError
from common.snmp import credentials as snmp_credentials
from executor.inventory import (
    PING_NAME,
    Inventory,
    apply,
    delete_events,
    network_id,
    node_events,
    node_id,
    ping_polling,
    polling_id,
    project,
    seed_events,
    upsert_event,
)
from schemas import inventory as wire
from schemas.inventory import InventoryEvent, Network, Node, Polling, Threshold

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "inventory.toml"
T = 1_700_000_000_000_000_000


def through_the_topic(events):
    """What a consumer of the inventory topic reads back (JSON round trip)."""
    return [wire.decode(wire.encode(e)) for e in events]


def seed(tmp_path, text, existing=None, name="seed.toml"):
    path = tmp_path / name
    path.write_text(text)
    return seed_events(path, existing or Inventory(), T)


def test_ids_are_stable_and_kind_specific():
    assert node_id("core1") == node_id("core1") != node_id("core2")
    assert node_id("x") != network_id("x")
    assert polling_id(node_id("a"), "PING") != polling_id(node_id("b"), "PING")
    assert len(node_id("core1")) == 16


def test_adding_a_node_adds_its_ping_polling():
    node = Node(id=node_id("r1"), name="r1", ip="192.0.2.1")
    events = node_events(node, "mcp:alice", T)
    assert [(e.kind, e.op) for e in events] == [("node", "upsert"), ("polling", "upsert")]
    assert all(e.actor == "mcp:alice" and e.time_ns == T for e in events)
    ping = events[1].polling
    assert ping == Polling(id=polling_id(node.id, PING_NAME), node_id=node.id, name="PING", kind="ping")
    assert (ping.level, ping.interval_s) == ("low", 60)
    assert events[1].key == f"polling:{ping.id}".encode()
    assert through_the_topic(events) == events


def test_updating_a_known_node_keeps_its_ping_polling_as_the_operator_left_it():
    node = Node(id="n1", name="r1", ip="192.0.2.1")
    inventory = project(node_events(node, "cli", T))
    tuned = Polling(id=ping_polling(node).id, node_id="n1", name="PING", kind="ping", level="high")
    apply(inventory, upsert_event(tuned, "cli", T))
    renamed = Node(id="n1", name="router-1", ip="192.0.2.1")
    events = node_events(renamed, "cli", T + 1, existing=inventory)
    assert [e.kind for e in events] == ["node"]
    reduce(apply, events, inventory)
    assert inventory.nodes["n1"].name == "router-1"
    assert inventory.pollings[tuned.id].level == "high"


def test_deleting_a_node_deletes_its_pollings_node_first():
    inventory = Inventory()
    for name in ("a", "b"):
        node = Node(id=node_id(name), name=name, ip="192.0.2.1")
        reduce(apply, node_events(node, "cli", T), inventory)
    extra = Polling(id="p-extra", node_id=node_id("a"), name="ssh", kind="tcp", params={"port": "22"})
    apply(inventory, upsert_event(extra, "cli", T))
    events = delete_events(inventory, "node", node_id("a"), "mcp:bob", T + 1)
    assert [(e.kind, e.op, e.id) for e in events] == [
        ("node", "delete", node_id("a")),
        *sorted([("polling", "delete", "p-extra"), ("polling", "delete", polling_id(node_id("a"), "PING"))]),
    ]
    assert through_the_topic(events) == events
    reduce(apply, events, inventory)
    assert set(inventory.nodes) == {node_id("b")}
    assert [p.node_id for p in inventory.pollings.values()] == [node_id("b")]


def test_projection_drops_a_deleted_nodes_pollings_even_without_their_deletes():
    node = Node(id="n1", name="a", ip="192.0.2.1")
    inventory = project(node_events(node, "cli", T))
    apply(inventory, InventoryEvent(kind="node", op="delete", id="n1", time_ns=T, actor="cli"))
    assert inventory.pollings == {}


def test_projection_accepts_a_polling_before_its_node_and_rejects_an_empty_upsert():
    polling = Polling(id="p1", node_id="n9", name="x", kind="ping")
    inventory = project([upsert_event(polling, "cli", T)])
    assert inventory.pollings == {"p1": polling}
    assert inventory.pollings_of("n9") == [polling]
    with pytest.raises(ValueError, match="polling:p2"):
        apply(inventory, InventoryEvent(kind="polling", op="upsert", id="p2", time_ns=T, actor="cli"))
    network = Network(id="w1", name="lan", ip="192.0.2.0/24")
    apply(inventory, upsert_event(network, "cli", T))
    apply(inventory, InventoryEvent(kind="network", op="delete", id="w1", time_ns=T, actor="cli"))
    assert inventory.networks == {}


def test_example_seed_file():
    events = seed_events(EXAMPLE, Inventory(), T)
    assert all(e.actor == f"seed:{EXAMPLE}" and e.op == "upsert" for e in events)
    inventory = project(through_the_topic(events))
    (node,) = inventory.nodes.values()
    assert (node.id, node.name, node.ip, node.snmp_credential) == (
        node_id("localhost"),
        "localhost",
        "127.0.0.1",
        "local-v2c",
    )
    kinds = {p.name: p for p in inventory.pollings.values()}
    assert sorted((p.kind, p.name) for p in kinds.values()) == [
        ("ping", "PING"),
        ("snmp", "sysUpTime"),
        ("tcp", "MCP port"),
    ]
    ping = kinds["PING"]
    assert ping.id == ping_polling(node).id
    assert ping.level == "high"
    assert ping.thresholds == [Threshold("rtt_ms", ">", 50.0, "warn")]
    assert kinds["MCP port"].params == {"port": "8765"}
    assert list(inventory.networks.values()) == [
        Network(id=network_id("loopback"), name="loopback", ip="127.0.0.0/8", description="local addresses")
    ]
    credentials = snmp_credentials.load(ROOT / "examples" / "snmp_credentials.toml")
    assert credentials["local-v2c"].mode == "v2c"
    assert credentials["local-v2c"].community == "public"
    assert credentials["core-v3"].is_v3
    assert node.snmp_credential in credentials


def test_reseeding_is_idempotent_and_publishes_only_changes(tmp_path):
    text = EXAMPLE.read_text()
    inventory = project(through_the_topic(seed(tmp_path, text)))
    assert seed(tmp_path, text, inventory) == []
    changed = seed(tmp_path, text.replace("interval_s = 30", "interval_s = 10"), inventory)
    assert [(e.kind, e.polling.name, e.polling.interval_s) for e in changed] == [("polling", "MCP port", 10)]
    redescribed = seed(tmp_path, text.replace('description = "this machine"', 'description = "me"'), inventory)
    assert [(e.kind, e.node.description) for e in redescribed] == [("node", "me")]


def test_seed_adds_ping_to_new_nodes_only(tmp_path):
    text = '[[node]]\nname = "r1"\nip = "192.0.2.1"\n'
    events = seed(tmp_path, text)
    assert [(e.kind, getattr(e, e.kind).name) for e in events] == [("node", "r1"), ("polling", "PING")]
    inventory = project(events)
    ping_id = ping_polling(inventory.nodes[node_id("r1")]).id
    reduce(apply, delete_events(inventory, "polling", ping_id, "mcp:alice", T), inventory)
    assert seed(tmp_path, text, inventory) == []


def test_seed_reuses_ids_of_entities_added_under_the_same_name(tmp_path):
    by_mcp = Node(id="mcp-made-id", name="r1", ip="192.0.2.1")
    inventory = project(node_events(by_mcp, "mcp:alice", T))
    text = '[[node]]\nname = "r1"\nip = "192.0.2.1"\n[[polling]]\nnode = "r1"\nname = "PING"\nkind = "ping"\n'
    assert seed(tmp_path, text, inventory) == []
    events = seed(tmp_path, text.replace("192.0.2.1", "192.0.2.2"), inventory)
    assert [(e.kind, e.id, e.node.ip) for e in events] == [("node", "mcp-made-id", "192.0.2.2")]


def test_seed_polling_may_name_its_node_by_id_or_name_in_the_seed_or_the_inventory(tmp_path):
    inventory = project(node_events(Node(id="old", name="old-router", ip="192.0.2.9"), "cli", T))
    text = """
[[node]]
id = "edge-1"
name = "edge"
ip = "2001:db8::0001"
snmp_credential = "core-v3"
[[polling]]
node = "edge-1"
name = "uptime"
kind = "snmp"
[[polling]]
node = "edge"
name = "https"
kind = "tls"
params = { port = 443, server_name = "edge.example" }
[[polling]]
node = "old-router"
name = "web"
kind = "http"
params = { url = "http://192.0.2.9/", verify_tls = false }
timeout_s = 2
[[polling]]
node = "old"
name = "dns"
kind = "dns"
params = { name = "example.com", port = 5353 }
"""
    pollings = {e.polling.name: e.polling for e in seed(tmp_path, text, inventory) if e.kind == "polling"}
    assert pollings["uptime"].node_id == pollings["https"].node_id == "edge-1"
    assert pollings["web"].node_id == pollings["dns"].node_id == "old"
    assert pollings["uptime"].id == polling_id("edge-1", "uptime")
    assert pollings["https"].params == {"port": "443", "server_name": "edge.example"}
    assert pollings["web"].params["verify_tls"] == "false"
    assert pollings["web"].timeout_s == 2.0
    assert pollings["dns"].params == {"name": "example.com", "port": "5353"}
    assert next(e.node for e in seed(tmp_path, text, inventory) if e.kind == "node").ip == "2001:db8::1"


NODE = "[[node]]\nname = 'r1'\nip = '192.0.2.1'\n"
POLL = NODE + "[[polling]]\nnode = 'r1'\nname = 'p'\n"
PING = POLL + "kind = 'ping'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[node]]\nip = '192.0.2.1'\n", r"\[\[node\]\] #1: name is required"),
        ("[[node]]\nname = 'r1'\nip = '192.0.2.300'\n", r"#1 \('r1'\): ip: not an IP address: '192.0.2.300'"),
        ("[[node]]\nname = 'r1'\nip = 'router.example'\n", "ip: not an IP address"),
        (NODE + "colour = 'red'\n", r"unknown key\(s\) \['colour'\]"),
        (NODE + "x = 'left'\n", "x: an integer, got 'left'"),
        (NODE + "x = true\n", "x: an integer, got True"),
        (NODE + "mac = 'zz'\n", "mac: six hex pairs"),
        ("[[node]]\nname = ''\nip = '192.0.2.1'\n", "name must not be empty"),
        (NODE + "[[node]]\nname = 'r1'\nip = '192.0.2.2'\n", "#2.*seeded twice"),
        ("[[polling]]\nnode = 'nowhere'\nname = 'p'\nkind = 'ping'\n", "node: 'nowhere' is the id or name of no node"),
        (POLL + "kind = 'icmp'\n", "kind: one of"),
        (POLL + "kind = 'snmp'\n", "needs node 'r1' to name an snmp_credential"),
        (PING + "level = 'critical'\n", "level: one of"),
        (POLL + "kind = 'tcp'\n", "params.port is required for a tcp polling"),
        (POLL + "kind = 'dns'\nparams = {server = '192.0.2.53'}\n", "params.name is required for a dns polling"),
        (POLL + "kind = 'tcp'\nparams = {port = 70000}\n", "params.port: 1-65535"),
        (PING + "params = {prot = 1}\n", r"params: unknown for ping: \['prot'\]"),
        (PING + "interval_s = 0\n", "interval_s: 1-86400, got 0"),
        (
            PING + "thresholds = [{key = 'rtt_ms', op = '=>', limit = 1, state = 'warn'}]\n",
            r"\('p'\): thresholds\[0\]: op: one of",
        ),
        (
            PING + "thresholds = [{key = 'rtt_ms', op = '>', limit = 'high', state = 'warn'}]\n",
            r"thresholds\[0\]: limit: a number",
        ),
        (
            PING + "thresholds = [{key = 'rtt_ms', op = '>', limit = 1, state = 'bad'}]\n",
            r"thresholds\[0\]: state: warn or fail",
        ),
        (PING + "[[polling]]\nnode = 'r1'\nname = 'p'\nkind = 'ping'\n", r"\[\[polling\]\] #2.*seeded twice"),
        ("[[network]]\nname = 'lan'\nip = '192.0.2.0/33'\n", r"\[\[network\]\] #1 \('lan'\): ip: not a network"),
        ("[[network]]\nname = 'lan'\nip = '192.0.2.0/24'\nports = [true]\n", "ports: a list of strings or numbers"),
        ("[[router]]\nname = 'x'\n", r"unknown section\(s\) \['router'\]"),
        ("[node]\nname = 'x'\n", r"node must be an array of tables"),
        ("[[node]\n", "not valid TOML"),
    ],
)
def test_seed_errors_name_the_entry_and_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        seed(tmp_path, text)
    assert str(tmp_path / "seed.toml") in str(info.value)


def test_missing_seed_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        seed_events(tmp_path / "none.toml", Inventory(), T)


def test_network_seed_is_normalised(tmp_path):
    (event,) = seed(tmp_path, "[[network]]\nname = 'lan'\nip = '192.0.2.7/24'\nports = [22, 'ge-0/0/1']\nx = 5\n")
    assert event.network == Network(id=network_id("lan"), name="lan", ip="192.0.2.0/24", ports=["22", "ge-0/0/1"], x=5)
