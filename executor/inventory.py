"""Inventory rules: the events that add, change and delete nodes, pollings and networks, the projection
of those events into current definitions, and seeding from a TOML file.

Pure: callers publish the events (schemas.inventory) and keep the projection. Rules, as in TWSNMP FK:
a new node gets a ping polling named "PING" (level low, every 60 s); deleting a node deletes its
pollings. Ids are stable hashes of names (a node's of its name, a polling's of its node id and name), so
seeding the same file twice, on any machine, names the same entities and publishes nothing new.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import Any

from common.config import ConfigError
from schemas.inventory import Comparison, InventoryEvent, Kind, Level, Network, Node, Polling, PollKind, Threshold

__all__ = [
    "PARAMS",
    "PING_NAME",
    "Inventory",
    "apply",
    "delete_events",
    "network_id",
    "node_events",
    "node_id",
    "ping_polling",
    "polling_id",
    "project",
    "seed_events",
    "upsert_event",
]

PING_NAME = "PING"
"""Name of the ping polling a new node gets (TWSNMP FK's name for it). Its id is polling_id(node id,
"PING"), so it keeps its id when the node is renamed, and a seed polling named PING on the node
redefines it."""

PARAMS: dict[str, frozenset[str]] = {
    "ping": frozenset({"size", "ttl", "count"}),
    "snmp": frozenset({"oids", "walk", "port", "max_rows", "resources", "arp"}),
    "tcp": frozenset({"port"}),
    "http": frozenset({"url", "method", "expect_status", "verify_tls"}),
    "dns": frozenset({"name", "rdtype", "server", "port"}),
    "tls": frozenset({"port", "server_name"}),
}
"""Polling params by kind, as documented on schemas.inventory.Polling and read by ingest.pollers; a seed
naming another is a typo. Values are checked by the pollers (a bad one makes results unknown), except
what every seed should get right at once: the required ones and ports."""

_REQUIRED_PARAMS = {"tcp": ("port",), "dns": ("name",)}
_KINDS = typing.get_args(PollKind)
_LEVELS = typing.get_args(Level)
_OPS = typing.get_args(Comparison)
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
_SEED_KEYS = {
    "node": {"id", "name", "ip", "mac", "icon", "description", "x", "y", "snmp_credential"},
    "polling": {"id", "node", "name", "kind", "params", "interval_s", "timeout_s", "retries", "level"}
    | {"thresholds", "logging"},
    "network": {"id", "name", "ip", "ports", "x", "y", "description"},
}
_MISSING: Any = object()


@dataclass
class Inventory:
    """Current definitions by id: the projection of the inventory topic (see apply)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    pollings: dict[str, Polling] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)

    def pollings_of(self, node_id: str) -> list[Polling]:
        """The node's pollings, by id."""
        return sorted((p for p in self.pollings.values() if p.node_id == node_id), key=lambda p: p.id)


def _stable_id(*parts: str) -> str:
    return blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def node_id(name: str) -> str:
    """The id a node named name gets when none is given."""
    return _stable_id("node", name)


def polling_id(node_id: str, name: str) -> str:
    """The id of the polling called name on the node node_id, when none is given."""
    return _stable_id("polling", node_id, name)


def network_id(name: str) -> str:
    """The id a network named name gets when none is given."""
    return _stable_id("network", name)


def ping_polling(node: Node) -> Polling:
    """The ping polling a new node gets."""
    return Polling(
        id=polling_id(node.id, PING_NAME), node_id=node.id, name=PING_NAME, kind="ping", level="low", interval_s=60
    )


def upsert_event(entity: Node | Polling | Network, actor: str, time_ns: int) -> InventoryEvent:
    """The event that defines (adds or replaces) one entity."""
    if isinstance(entity, Node):
        return InventoryEvent(kind="node", op="upsert", id=entity.id, time_ns=time_ns, actor=actor, node=entity)
    if isinstance(entity, Polling):
        return InventoryEvent(kind="polling", op="upsert", id=entity.id, time_ns=time_ns, actor=actor, polling=entity)
    return InventoryEvent(kind="network", op="upsert", id=entity.id, time_ns=time_ns, actor=actor, network=entity)


def node_events(node: Node, actor: str, time_ns: int, existing: Inventory | None = None) -> list[InventoryEvent]:
    """The events that add or update a node: the node, and its ping polling when the node is new.

    With existing, a node already in it is an update and gets no ping polling, so an operator's changes
    to its PING polling (or its deletion) stand; without, the node is taken as new.
    """
    events = [upsert_event(node, actor, time_ns)]
    if existing is None or node.id not in existing.nodes:
        events.append(upsert_event(ping_polling(node), actor, time_ns))
    return events


def delete_events(inventory: Inventory, kind: Kind, entity_id: str, actor: str, time_ns: int) -> list[InventoryEvent]:
    """The events that delete an entity: a node's delete comes first, then one per polling of it.

    Node first, so a state machine that forgets the node on its delete ignores the polling deletes
    after it instead of writing node-state events for a node that is going away.
    """
    events = [InventoryEvent(kind=kind, op="delete", id=entity_id, time_ns=time_ns, actor=actor)]
    if kind == "node":
        events += [
            InventoryEvent(kind="polling", op="delete", id=p.id, time_ns=time_ns, actor=actor)
            for p in inventory.pollings_of(entity_id)
        ]
    return events


def apply(inventory: Inventory, event: InventoryEvent) -> Inventory:
    """Apply one event to the projection, in place, and return it (so reduce(apply, events, ...) works).

    A polling may arrive before its node (compaction keeps only a key's last event, so a node updated
    later sits after its pollings). A node's delete also drops its pollings, for topics written without
    the polling deletes.
    """
    tables: dict[str, dict[str, Any]] = {
        "node": inventory.nodes,
        "polling": inventory.pollings,
        "network": inventory.networks,
    }
    table = tables[event.kind]
    if event.op == "delete":
        table.pop(event.id, None)
        if event.kind == "node":
            for polling in inventory.pollings_of(event.id):
                del inventory.pollings[polling.id]
        return inventory
    body = getattr(event, event.kind)
    if body is None or body.id != event.id:
        raise ValueError(f"inventory upsert {event.kind}:{event.id} does not carry that {event.kind}")
    table[event.id] = body
    return inventory


def project(events: Iterable[InventoryEvent]) -> Inventory:
    """The inventory the events define, applied in order."""
    inventory = Inventory()
    for event in events:
        apply(inventory, event)
    return inventory


def seed_events(path: str | Path, existing: Inventory, time_ns: int) -> list[InventoryEvent]:
    """The events that bring existing up to the seed file: only what is missing or differs.

    The file has [[node]], [[polling]] and [[network]] tables (see examples/inventory.toml). The seed wins
    for what it names (a seeded node edited since is set back on the next seeding); it deletes nothing.
    An entry without an id takes the id of an existing entity of the same name (so a node added over MCP
    is not duplicated), else the stable id of its name. A new seeded node gets its PING polling unless
    the seed defines one. Mistakes raise ConfigError naming the file, the entry and the key.
    """
    origin = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"inventory seed file {origin} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"inventory seed file {origin} is not valid TOML: {exc}") from None
    unknown = set(raw) - set(_SEED_KEYS)
    if unknown:
        raise ConfigError(f"{origin}: unknown section(s) {sorted(unknown)}; known: [[node]], [[polling]], [[network]]")
    entries = {section: _entries(raw, section, origin) for section in _SEED_KEYS}

    nodes: dict[str, Node] = {}
    for where, table in entries["node"]:
        node = _seed_node(table, where, existing)
        if node.id in nodes or any(n.name == node.name for n in nodes.values()):
            raise ConfigError(f"{where}: a node with id {node.id!r} or name {node.name!r} is seeded twice")
        nodes[node.id] = node
    pollings: dict[str, Polling] = {}
    for where, table in entries["polling"]:
        polling = _seed_polling(table, where, nodes, existing)
        if polling.id in pollings:
            raise ConfigError(f"{where}: a polling with id {polling.id!r} (same node and name?) is seeded twice")
        pollings[polling.id] = polling
    networks: dict[str, Network] = {}
    for where, table in entries["network"]:
        network = _seed_network(table, where, existing)
        if network.id in networks or any(n.name == network.name for n in networks.values()):
            raise ConfigError(f"{where}: a network with id {network.id!r} or name {network.name!r} is seeded twice")
        networks[network.id] = network

    actor = f"seed:{origin}"
    events: list[InventoryEvent] = []
    for node in nodes.values():
        if existing.nodes.get(node.id) != node:
            events.append(upsert_event(node, actor, time_ns))
        ping = ping_polling(node)
        if node.id not in existing.nodes and ping.id not in pollings and ping.id not in existing.pollings:
            events.append(upsert_event(ping, actor, time_ns))
    events += [upsert_event(p, actor, time_ns) for p in pollings.values() if existing.pollings.get(p.id) != p]
    events += [upsert_event(n, actor, time_ns) for n in networks.values() if existing.networks.get(n.id) != n]
    return events


def _entries(raw: dict[str, Any], section: str, origin: str) -> list[tuple[str, dict[str, Any]]]:
    """The tables of one [[section]], each with a description of where it is for error messages."""
    tables = raw.get(section, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{origin}: {section} must be an array of tables ([[{section}]])")
    found = []
    for i, table in enumerate(tables, 1):
        name = table.get("name")
        where = f"{origin}: [[{section}]] #{i}" + (f" ({name!r})" if isinstance(name, str) else "")
        unknown = set(table) - _SEED_KEYS[section]
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_SEED_KEYS[section])}")
        found.append((where, table))
    return found


def _seed_node(table: dict[str, Any], where: str, existing: Inventory) -> Node:
    name = _text(table, "name", where)
    ip = _text(table, "ip", where)
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        raise ConfigError(f"{where}: ip: not an IP address: {ip!r}") from None
    mac = _get(table, "mac", str, where, "")
    if mac and not _MAC.match(mac):
        raise ConfigError(f"{where}: mac: six hex pairs like 00:11:22:33:44:55, got {mac!r}")
    same_name = [n.id for n in existing.nodes.values() if n.name == name]
    return Node(
        id=_seed_id(table, where, same_name, node_id(name)),
        name=name,
        ip=ip,
        mac=mac.lower().replace("-", ":"),
        icon=_text(table, "icon", where, "desktop"),
        description=_get(table, "description", str, where, ""),
        x=_bounded(table, "x", int, where, 0, 0, 100_000),
        y=_bounded(table, "y", int, where, 0, 0, 100_000),
        snmp_credential=_get(table, "snmp_credential", str, where, ""),
    )


def _seed_polling(table: dict[str, Any], where: str, nodes: dict[str, Node], existing: Inventory) -> Polling:
    ref = _text(table, "node", where)
    node = _find_node(ref, nodes) or _find_node(ref, existing.nodes)
    if node is None:
        raise ConfigError(f"{where}: node: {ref!r} is the id or name of no node in the seed or the inventory")
    name = _text(table, "name", where)
    kind = _text(table, "kind", where)
    if kind not in _KINDS:
        raise ConfigError(f"{where}: kind: one of {_KINDS}, got {kind!r}")
    if kind == "snmp" and not node.snmp_credential:
        raise ConfigError(f"{where}: kind snmp needs node {node.name!r} to name an snmp_credential")
    level = _get(table, "level", str, where, "low")
    if level not in _LEVELS:
        raise ConfigError(f"{where}: level: one of {_LEVELS}, got {level!r}")
    same_name = [p.id for p in existing.pollings.values() if p.node_id == node.id and p.name == name]
    return Polling(
        id=_seed_id(table, where, same_name, polling_id(node.id, name)),
        node_id=node.id,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        params=_params(table, kind, where),
        interval_s=_bounded(table, "interval_s", int, where, 60, 1, 86_400),
        timeout_s=_bounded(table, "timeout_s", float, where, 3.0, 0.001, 300.0),
        retries=_bounded(table, "retries", int, where, 1, 0, 10),
        level=level,
        thresholds=_thresholds(table, where),
        logging=_get(table, "logging", bool, where, True),
    )


def _seed_network(table: dict[str, Any], where: str, existing: Inventory) -> Network:
    name = _text(table, "name", where)
    cidr = _text(table, "ip", where)
    try:
        cidr = str(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        raise ConfigError(f"{where}: ip: not a network (CIDR like 192.0.2.0/24): {cidr!r}") from None
    ports = _get(table, "ports", list, where, [])
    if not all(isinstance(p, str | int) and not isinstance(p, bool) for p in ports):
        raise ConfigError(f"{where}: ports: a list of strings or numbers, got {ports!r}")
    same_name = [n.id for n in existing.networks.values() if n.name == name]
    return Network(
        id=_seed_id(table, where, same_name, network_id(name)),
        name=name,
        ip=cidr,
        ports=[str(p) for p in ports],
        x=_bounded(table, "x", int, where, 0, 0, 100_000),
        y=_bounded(table, "y", int, where, 0, 0, 100_000),
        description=_get(table, "description", str, where, ""),
    )


def _find_node(ref: str, nodes: dict[str, Node]) -> Node | None:
    """A node by id, else by name (a seed may name the node a polling belongs to either way)."""
    if ref in nodes:
        return nodes[ref]
    return next((n for n in nodes.values() if n.name == ref), None)


def _seed_id(table: dict[str, Any], where: str, same_name: list[str], derived: str) -> str:
    """The given id, else that of the one existing entity of the same name, else the derived one."""
    if "id" in table:
        given = _text(table, "id", where)
        if len(given) > 128 or not given.isprintable():
            raise ConfigError(f"{where}: id: up to 128 printable characters, got {given!r}")
        return given
    if len(same_name) > 1:
        raise ConfigError(f"{where}: several entities of the inventory have this name; give the id to seed")
    return same_name[0] if same_name else derived


def _params(table: dict[str, Any], kind: str, where: str) -> dict[str, str]:
    params = _get(table, "params", dict, where, {})
    unknown = set(params) - PARAMS[kind]
    if unknown:
        raise ConfigError(f"{where}: params: unknown for {kind}: {sorted(unknown)}; known: {sorted(PARAMS[kind])}")
    text: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, bool):
            text[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text[key] = str(value)
        else:
            raise ConfigError(f"{where}: params.{key}: a string or number, got {value!r}")
    for key in _REQUIRED_PARAMS.get(kind, ()):
        if not text.get(key):
            raise ConfigError(f"{where}: params.{key} is required for a {kind} polling")
    if "port" in text and not (text["port"].isdigit() and 1 <= int(text["port"]) <= 65535):
        raise ConfigError(f"{where}: params.port: 1-65535, got {text['port']!r}")
    return text


def _thresholds(table: dict[str, Any], where: str) -> list[Threshold]:
    found = []
    for j, rule in enumerate(_get(table, "thresholds", list, where, [])):
        at = f"{where}: thresholds[{j}]"
        if not isinstance(rule, dict):
            raise ConfigError(f"{at}: a table {{key, op, limit, state}}, got {rule!r}")
        unknown = set(rule) - {"key", "op", "limit", "state"}
        if unknown:
            raise ConfigError(f"{at}: unknown key(s) {sorted(unknown)}; known: ['key', 'limit', 'op', 'state']")
        op = _text(rule, "op", at)
        if op not in _OPS:
            raise ConfigError(f"{at}: op: one of {_OPS}, got {op!r}")
        state = _text(rule, "state", at)
        if state not in ("warn", "fail"):
            raise ConfigError(f"{at}: state: warn or fail, got {state!r}")
        found.append(Threshold(_text(rule, "key", at), op, _get(rule, "limit", float, at), state))  # type: ignore[arg-type]
    return found


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any = _MISSING) -> Any:
    """table[key] checked against kind (int for float is fine, bool for int is not), or the default."""
    if key not in table:
        if default is _MISSING:
            raise ConfigError(f"{where}: {key} is required")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        expected = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
            kind, f"a {kind.__name__}"
        )
        raise ConfigError(f"{where}: {key}: {expected}, got {value!r}")
    return value


def _text(table: dict[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    """A string that must not be blank."""
    value: str = _get(table, key, str, where, default)
    if not value.strip():
        raise ConfigError(f"{where}: {key} must not be empty")
    return value


def _bounded(table: dict[str, Any], key: str, kind: type, where: str, default: Any, low: float, high: float) -> Any:
    value = _get(table, key, kind, where, default)
    if not low <= value <= high:
        raise ConfigError(f"{where}: {key}: {low}-{high}, got {value!r}")
    return value
