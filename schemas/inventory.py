"""Wire format of the inventory topic: nodes, pollings and networks defined by events.

The topic is compacted and keyed "<kind>:<id>", so its last event per key is the entity's definition.
A delete is an event too (op "delete"), not a Kafka tombstone, so a replay sees it. ClickHouse's
nodes, pollings and networks tables and the poller's schedule are projections of this topic.

SNMP credentials are held by reference: a node names a credential defined in the credentials file
(schemas.credentials); the secret itself is never on a topic, in a table or in a tool result.

Every event carries an HMAC-SHA256 signature over its canonical bytes (schemas.signed) under the inventory
key, which only its writers (the executor, the seed) and readers (executor, poller, worker) hold; a reader
ignores an event whose signature is missing or does not verify.
"""

from __future__ import annotations

from typing import Literal

import msgspec

WIRE_VERSION = 1

Kind = Literal["node", "polling", "network"]
Op = Literal["upsert", "delete"]
PollKind = Literal["ping", "snmp", "tcp", "http", "dns", "tls"]
Level = Literal["high", "low", "warn"]
"""The state a polling takes when it fails (TWSNMP's polling level)."""
Comparison = Literal["<", "<=", ">", ">=", "==", "!="]


class Node(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A managed device."""

    id: str
    name: str
    ip: str
    mac: str = ""
    icon: str = "desktop"
    description: str = ""
    x: int = 0
    y: int = 0
    snmp_credential: str = ""
    """Name of a credential in the credentials file; empty: no SNMP."""


class Threshold(msgspec.Struct, array_like=True, frozen=True):
    """A rule on one numeric result key: when `value_key op limit` holds, the polling is in `state`.

    state "warn" gives warn; state "fail" gives the polling's level (high, low or warn).
    """

    key: str
    op: Comparison
    limit: float
    state: Literal["warn", "fail"]


class Polling(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A scheduled check of a node.

    params by kind (all strings; missing ones take defaults):
    ping: size, ttl, count (default 3).
    snmp: oids (comma-separated names or OIDs to get; sysUpTime.0 always), walk (a subtree to walk), port (161),
    max_rows (1000 per walk), resources (true: CPU and memory from HOST-RESOURCES-MIB), arp (true: learn
    IP/MAC pairs from ipNetToMediaPhysAddress).
    tcp: port.  http: url (default http://<node ip>/), method (GET/HEAD), expect_status (default 200-399),
    verify_tls (true).  dns: name, rdtype (A, AAAA, ...), server (default: the node's IP), port (53).
    tls: port (443), server_name.
    """

    id: str
    node_id: str
    name: str
    kind: PollKind
    params: dict[str, str] = {}
    interval_s: int = 60
    timeout_s: float = 3.0
    retries: int = 1
    level: Level = "low"
    thresholds: list[Threshold] = []
    logging: bool = True
    """Keep every result in polling_log (TWSNMP's LogMode); state changes are kept regardless."""


class Network(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A network (subnet) netobs knows of; actions may target its addresses."""

    id: str
    name: str
    ip: str
    """CIDR, e.g. 192.0.2.0/24."""
    ports: list[str] = []
    x: int = 0
    y: int = 0
    description: str = ""


class InventoryEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One change to the inventory. Exactly one of node, polling, network is set for an upsert."""

    version: int = WIRE_VERSION
    kind: Kind
    op: Op
    id: str
    time_ns: int
    actor: str
    """Who made the change: "seed:<file>", "mcp:<principal>", "cli"."""
    node: Node | None = None
    polling: Polling | None = None
    network: Network | None = None
    signature: str = ""
    """HMAC-SHA256 (hex) of schemas.signed.canonical(event) under the inventory key."""

    @property
    def key(self) -> bytes:
        """The Kafka key: compaction keeps the last event per entity."""
        return f"{self.kind}:{self.id}".encode()


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(InventoryEvent)


def encode(event: InventoryEvent) -> bytes:
    """Serialise an event (JSON: the inventory is small and read by people too)."""
    return _encoder.encode(event)


def decode(data: bytes) -> InventoryEvent:
    """Read an event; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    event = _decoder.decode(data)
    body = {"node": event.node, "polling": event.polling, "network": event.network}
    if event.op == "upsert" and (body[event.kind] is None or sum(v is not None for v in body.values()) != 1):
        raise msgspec.ValidationError(f"an upsert of a {event.kind} carries exactly that {event.kind}")
    if event.op == "upsert" and body[event.kind].id != event.id:  # type: ignore[union-attr]
        raise msgspec.ValidationError("event id and entity id differ")
    return event
