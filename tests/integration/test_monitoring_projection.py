"""The monitoring projections (traps, poll results, inventory, events) on real embedded ClickHouse.

In this process (the session's chdb path): the projectors store each row once across redelivery and
restarts, and a rebuild with other batch boundaries gives identical tables. In a child worker with a
real broker: the Faust app projects every topic, publishes the events of state changes, writes its
resource row, and `replay` rebuilds every projection table row for row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import msgspec
import pytest

from common import clickhouse, kafka_client, migrations
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.signing import sign
from processors.monitoring.projector import StateProjector
from processors.replay import topic_partitions
from processors.tables.projector import EVENT_LOG_ROWS, TRAPS, TableProjector, projections
from schemas import events, inventory, polls, traps
from schemas.inventory import InventoryEvent, Node, Polling
from schemas.polls import PollBatch, PollResult
from schemas.topics import EVENTS, INVENTORY, POLL_RESULTS, SNMP_TRAPS, partition_for
from schemas.traps import Trap, TrapBatch, Varbind
from tests import brokers
from tests.integration.pipeline import node_env
from tests.signing_keys import KEYS
from tests.signing_keys import WORKER as WORKER_KEYS

pytestmark = pytest.mark.integration

S = 1_000_000_000
PARTITIONS = 4

STATE_TABLES = {
    # Each projection table as a reader sees it, ordered so that two builds compare row for row.
    "polling_log": "SELECT * FROM {db}.polling_log WHERE {where} ORDER BY kafka_partition, kafka_offset, seq",
    "polling_state": "SELECT * FROM {db}.polling_state FINAL WHERE {where} ORDER BY polling_id",
    "node_state": "SELECT * FROM {db}.node_state FINAL WHERE {where} ORDER BY node_id",
    "ip_address": "SELECT ip, mac, min(first_seen), max(last_seen), anyLast(learnt_from) FROM {db}.ip_address "
    "WHERE {where} GROUP BY ip, mac ORDER BY ip, mac",
    "certificates": "SELECT server, port, serial, anyLast(polling_id), anyLast(subject), anyLast(issuer), "
    "anyLast(not_before), anyLast(not_after), anyLast(verified), anyLast(error), min(first_seen), max(last_seen) "
    "FROM {db}.certificates WHERE {where} GROUP BY server, port, serial ORDER BY server, port, serial",
}
ALL_TABLES = {
    **STATE_TABLES,
    "event_log": "SELECT * FROM {db}.event_log FINAL WHERE {where} ORDER BY time, id",
    "snmp_traps": "SELECT * FROM {db}.snmp_traps WHERE {where} ORDER BY kafka_partition, kafka_offset, seq",
    "nodes": "SELECT * FROM {db}.nodes FINAL WHERE {where} ORDER BY id",
    "pollings": "SELECT * FROM {db}.pollings FINAL WHERE {where} ORDER BY id",
    "networks": "SELECT * FROM {db}.networks FINAL WHERE {where} ORDER BY id",
}


def result(pid: str, node: str, t: int, outcome: str = "ok", kind: str = "ping", **over) -> PollResult:
    fields = dict(
        polling_id=pid,
        node_id=node,
        polling_name=f"{kind} {pid}",
        node_name=f"host-{node}",
        kind=kind,
        level="high",
        thresholds=[],
        logging=False,
        time_ns=t,
        duration_ns=3_000_000,
        outcome=outcome,
        values={"rtt_ms": 1.25} if outcome == "ok" else {},
        texts={},
        error="" if outcome == "ok" else "timeout",
    )
    fields.update(over)
    return PollResult(**fields)


def scenario(node: str, t0: int, net: int) -> list[list[PollResult]]:
    """Batches of results for one node: a ping polling normal -> fail -> normal -> normal, an SNMP polling
    (logging on) that learns ARP entries, and a TLS polling that sees a certificate."""
    arp = {f"arp:10.{net}.0.{i}": f"02:00:00:00:00:{i:02x}" for i in (5, 6)}
    cert = {
        "subject": f"CN={node}.test",
        "issuer": "CN=Test CA",
        "serial": "0A1B2C",
        "not_before": "2024-01-01T00:00:00+00:00",
        "not_after": "Jan  1 00:00:00 2034 GMT",
        "verified": "true",
        "server": f"{node}.test",
        "port": "8443",
    }
    ping, snmp, tls = f"{node}-ping", f"{node}-snmp", f"{node}-tls"
    return [
        [result(ping, node, t0), result(snmp, node, t0 + 1, kind="snmp", logging=True, texts=arp)],
        [result(ping, node, t0 + 60 * S, "fail"), result(tls, node, t0 + 61 * S, kind="tls", texts=cert)],
        [result(ping, node, t0 + 120 * S)],
        [result(ping, node, t0 + 180 * S), result(snmp, node, t0 + 181 * S, kind="snmp", logging=True, texts=arp)],
    ]


def poll_records(batches: list[list[PollResult]], partition: int, start: int) -> list[tuple[int, int, int, bytes]]:
    return [
        (partition, start + i, batch[0].time_ns, polls.encode(PollBatch(polls.WIRE_VERSION, batch)))
        for i, batch in enumerate(batches)
    ]


def dump(client, db: str, queries: dict[str, str], where: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    where = where or {}
    return {name: client.query(q.format(db=db, where=where.get(name, "1"))).result_rows for name, q in queries.items()}


@pytest.fixture(scope="module")
def client(chdb_path):
    c = clickhouse.connect(f"chdb://{chdb_path}")
    for db in ("monitoring_a", "monitoring_b", "monitoring_rm"):
        migrations.apply(c, db, 30)
    return c


def test_states_events_and_rows_survive_redelivery_and_restart(client):
    db = "monitoring_a"
    t0 = time.time_ns() - 3600 * S
    records = poll_records(scenario("n1", t0, 1), 0, 0) + poll_records(scenario("n2", t0, 2), 1, 0)
    first = StateProjector(client, db)
    pending = first.prepare(records[:2] + records[4:6])
    first.commit(pending)
    kinds = [(e.node_id, e.type, e.last_level, e.level) for e in pending.events]
    assert ("n1", "polling", "normal", "high") in kinds and ("n1", "node", "normal", "high") in kinds

    # The same records again (offsets not committed before a crash): nothing new, no event.
    assert first.prepare(records[:2]).events == []
    # A crash after prepare and before commit: a new worker restores the last save and redoes the batch,
    # publishing the same events (same ids) and writing each row once.
    lost = first.prepare(records[2:4])
    second = StateProjector(client, db)
    redone = second.prepare(records[:4])
    assert [e.id for e in redone.events] == [e.id for e in lost.events] and redone.events
    second.commit(redone)
    second.commit(second.prepare(records[4:]))
    levels = [(e.type, e.last_level, e.level) for e in lost.events + redone.events if e.node_id == "n1"]
    assert ("polling", "high", "repair") in levels and ("polling", "repair", "normal") in levels

    tables = dump(client, db, STATE_TABLES)
    log = [(r[1], r[6], r[7], r[14]) for r in tables["polling_log"] if r[2] == "n1"]
    # logging off for ping: only its state changes are logged; snmp logs every result.
    assert log == [
        ("n1-ping", "ok", "normal", 0),
        ("n1-snmp", "ok", "normal", 0),
        ("n1-ping", "fail", "high", 1),
        ("n1-tls", "ok", "normal", 1),
        ("n1-ping", "ok", "repair", 2),
        ("n1-ping", "ok", "normal", 3),
        ("n1-snmp", "ok", "normal", 3),
    ]
    assert [r for r in tables["polling_log"] if r[2] == "n1"][2][10:12] == ({}, {})
    assert tables["polling_log"][0][10] == {"rtt_ms": 1.25}
    states = {r[0]: r for r in tables["polling_state"]}
    assert states["n1-ping"][2] == "normal"
    # Version: the partition's watermark after each polling's last result (here its own time).
    assert states["n1-ping"][7] == states["n1-ping"][4] < states["n1-snmp"][7] == states["n1-snmp"][4]
    assert json.loads(states["n1-snmp"][6])["texts"]["arp:10.1.0.5"] == "02:00:00:00:00:05"
    assert [(r[0], r[2]) for r in tables["node_state"]] == [("n1", "normal"), ("n2", "normal")]
    arp = [(r[0], r[1], r[2], r[3], r[4]) for r in tables["ip_address"] if r[4] in ("n1", "n2")]
    assert [(ip, mac, learnt) for ip, mac, _, _, learnt in arp] == [
        ("10.1.0.5", "02:00:00:00:00:05", "n1"),
        ("10.1.0.6", "02:00:00:00:00:06", "n1"),
        ("10.2.0.5", "02:00:00:00:00:05", "n2"),
        ("10.2.0.6", "02:00:00:00:00:06", "n2"),
    ]
    assert arp[0][3] - arp[0][2] == dt.timedelta(seconds=181)  # first and last sighting
    certs = tables["certificates"]
    assert [(r[0], r[1], r[2], r[4], r[8]) for r in certs] == [
        ("n1.test", 8443, "0A1B2C", "CN=n1.test", True),
        ("n2.test", 8443, "0A1B2C", "CN=n2.test", True),
    ]
    assert certs[0][7].year == 2034


def test_a_rebuild_in_other_batches_gives_identical_tables(client):
    t0 = time.time_ns() - 7200 * S
    records = poll_records(scenario("n3", t0, 3) + scenario("n3", t0 + 600 * S, 3), 2, 0)  # partitions new to the db
    records += poll_records(scenario("n4", t0, 4), 3, 0)
    one = StateProjector(client, "monitoring_a")
    one_events = []
    for i in range(0, len(records), 3):
        pending = one.prepare(records[i : i + 3])
        one_events += pending.events
        one.commit(pending)
    other = StateProjector(client, "monitoring_b")
    pending = other.prepare(records[8:] + records[:8])  # one batch, partitions in another order
    other.commit(pending)
    assert sorted(e.id for e in pending.events) == sorted(e.id for e in one_events)
    mine = "node_id IN ('n3', 'n4')"
    where = {
        "polling_log": mine,
        "polling_state": mine,
        "node_state": mine,
        "ip_address": "learnt_from IN ('n3', 'n4')",
        "certificates": "server IN ('n3.test', 'n4.test')",
    }
    built = dump(client, "monitoring_a", STATE_TABLES, where)
    assert all(built.values()), {name: len(rows) for name, rows in built.items()}
    assert dump(client, "monitoring_b", STATE_TABLES, where) == built


def test_traps_inventory_and_events_once_each(client):
    db = "monitoring_a"
    now = time.time_ns()
    trap = Trap(now, "192.0.2.9", "v2c", "trap", "", "1.3.6.1.6.3.1.1.5.3", "IF-MIB::linkDown", 5, "", "", -1, -1,
                [Varbind("1.3.6.1.2.1.2.2.1.1.3", "IF-MIB::ifIndex.3", "Integer32", "3")])  # fmt: skip
    trap_records = [
        (0, 0, now, traps.encode(TrapBatch(1, [trap, trap]))),
        (0, 1, now, b"\xc1 garbage"),
        (0, 2, now, traps.encode(TrapBatch(1, [trap]))),
    ]
    projector = TableProjector(client, db, TRAPS)
    assert projector.process(trap_records[:2]) == 2
    assert projector.process(trap_records) == 1  # redelivered: only offset 2 is new
    assert projector.records_undecodable == 2
    assert TableProjector(client, db, TRAPS).process(trap_records) == 0
    rows = client.query(f"SELECT kafka_offset, seq, variables FROM {db}.snmp_traps ORDER BY kafka_offset, seq")
    assert rows.result_rows == [
        (0, 0, "IF-MIB::ifIndex.3=3"),
        (0, 1, "IF-MIB::ifIndex.3=3"),
        (2, 0, "IF-MIB::ifIndex.3=3"),
    ]

    node = Node(id="nx", name="router-x", ip="192.0.2.1")
    polling = Polling(id="px", node_id="nx", name="PING", kind="ping")
    inv = [
        InventoryEvent(kind="node", op="upsert", id="nx", time_ns=now, actor="cli", node=node),
        InventoryEvent(kind="polling", op="upsert", id="px", time_ns=now, actor="cli", polling=polling),
        InventoryEvent(kind="node", op="delete", id="nx", time_ns=now + 1, actor="cli"),
    ]
    inv_records = [(0, i, now, inventory.encode(sign(KEYS["inventory"], e))) for i, e in enumerate(inv)]
    INVENTORY_TABLES = projections(WORKER_KEYS)[1]
    TableProjector(client, db, INVENTORY_TABLES).process(inv_records[:2])
    TableProjector(client, db, INVENTORY_TABLES).process(inv_records)
    nodes = client.query(f"SELECT id, name, deleted, version FROM {db}.nodes FINAL").result_rows
    assert nodes == [("nx", "", True, 2)]
    assert client.query(f"SELECT count() FROM {db}.pollings").result_rows == [(1,)]

    e = events.Event("ev1", now, "polling", "high", "normal", "nx", "router-x", "Change", 0.0, "px")
    batch = events.encode(events.EventBatch(1, [e, e]))
    event_projector = TableProjector(client, db, EVENT_LOG_ROWS)
    event_projector.process([(0, 0, now, batch)])
    # The same event published again later (a re-applied batch, or a replay) is not stored again.
    event_projector.process([(0, 5, now, batch), (0, 6, now, b"junk")])
    rows = client.query(f"SELECT id, kafka_offset FROM {db}.event_log ORDER BY kafka_offset").result_rows
    assert rows == [("ev1", 0), (f"undecodable:{EVENTS}:0:6", 6)]


# --- The Faust app in a child worker, a real broker, and replay -------------------------------------------

WORKER = """
import logging, signal, sys, threading
from common.config import WorkerConfig
from netobs.worker_thread import WorkerThread
from processors.app import make_app
from common.clickhouse import connect
from common import migrations
group, dsn, partitions = sys.argv[1:4]
from common.kafka_client import access
from netobs.config import load
kafka = access(load().kafka)  # the worker's principal, from NETOBS_KAFKA_*
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
migrations.apply(connect(dsn), "netobs", 30)
config = WorkerConfig(group_id=group, batch_records=20, batch_seconds=0.2)
from tests.signing_keys import WORKER
worker = WorkerThread(make_app(kafka, int(partitions), config, dsn, "netobs", keys=WORKER, resource_seconds=1.0))
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
worker.start()
worker.started.wait(60)
while not stop.is_set() and worker.is_alive():
    stop.wait(0.2)
worker.stop()
sys.exit(1 if worker.error else 0)
"""

DUMP = """
import json, sys
from common.clickhouse import connect
client = connect(sys.argv[1])
queries = json.loads(sys.argv[2])
print(json.dumps({name: client.query(q).result_rows for name, q in queries.items()}, default=str))
"""

REPLAY = """
import sys
from processors.replay import replay
from common.kafka_client import access
from netobs.config import load
kafka = access(load().kafka)  # the worker's principal, from NETOBS_KAFKA_*
done = replay(kafka, sys.argv[1], sys.argv[2], "netobs")
print(len(done.offsets), len(done.tables))
"""

WATCHED = (SNMP_TRAPS, POLL_RESULTS, INVENTORY, EVENTS)


def _marked(results: list[list[PollResult]], marker: str) -> list[list[PollResult]]:
    """The scenario's results with the test's marker in every id and name, and certificates on marked servers."""

    def mark(r: PollResult) -> PollResult:
        texts = {k: (f"{marker}-{v}" if k == "server" else v) for k, v in r.texts.items()}
        return msgspec.structs.replace(
            r, polling_id=f"{marker}-{r.polling_id}", node_id=f"{marker}-{r.node_id}", texts=texts
        )

    return [[mark(r) for r in batch] for batch in results]


async def _publish(kafka: KafkaAccess, marker: str, t0: int) -> None:
    """Inventory, poll batches (partitioned by node id) and trap batches, as the ingest stages send them."""
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for name in ("a", "b", "c"):
            node = Node(id=f"{marker}-n{name}", name=f"host-{name}", ip="127.0.0.1")
            up = InventoryEvent(kind="node", op="upsert", id=node.id, time_ns=t0, actor="test", node=node)
            await producer.send_and_wait(INVENTORY, inventory.encode(sign(KEYS["inventory"], up)), key=up.key)
            polling = Polling(id=f"{marker}-p{name}", node_id=node.id, name="PING", kind="ping")
            up = InventoryEvent(kind="polling", op="upsert", id=polling.id, time_ns=t0, actor="test", polling=polling)
            await producer.send_and_wait(INVENTORY, inventory.encode(sign(KEYS["inventory"], up)), key=up.key)
        gone = InventoryEvent(kind="node", op="delete", id=f"{marker}-nc", time_ns=t0 + S, actor="test")
        await producer.send_and_wait(INVENTORY, inventory.encode(sign(KEYS["inventory"], gone)), key=gone.key)

        # Node a: ping normal -> fail -> normal -> normal, SNMP with ARP entries, TLS with a certificate.
        # Node b: a ping that ends failing (high) beside an SNMP polling over its warn threshold.
        warn = inventory.Threshold("sysUpTime", "<", 100.0, "warn")
        b = [
            [
                result("b-ping", "b", t0),
                result("b-snmp", "b", t0 + 1, kind="snmp", values={"sysUpTime": 5.0}, thresholds=[warn], logging=True),
            ],
            [result("b-ping", "b", t0 + 60 * S, "fail")],
        ]
        for node, batches in (("a", _marked(scenario("a", t0, 7), marker)), ("b", _marked(b, marker))):
            partition = partition_for(f"{marker}-{node}", PARTITIONS)
            for batch in batches:
                await producer.send_and_wait(POLL_RESULTS, polls.encode(PollBatch(1, batch)), partition=partition)
        await producer.send_and_wait(POLL_RESULTS, b"\xc1 not a poll batch", partition=0)

        trap = Trap(t0, "192.0.2.9", "v2c", "trap", "", "1.3.6.1.6.3.1.1.5.3", f"TEST-MIB::{marker}", 5, "", "", -1,
                    -1, [Varbind("1.3.6.1.2.1.2.2.1.1.3", "IF-MIB::ifIndex.3", "Integer32", "3")])  # fmt: skip
        for batch in (TrapBatch(1, [trap, trap]), TrapBatch(1, [trap])):
            await producer.send_and_wait(SNMP_TRAPS, traps.encode(batch), partition=1)
        await producer.send_and_wait(SNMP_TRAPS, b"garbage", partition=1)
    finally:
        await producer.stop()


async def _caught_up(kafka: KafkaAccess, group: str) -> bool:
    """Whether the group has committed every record of the watched topics (the worker's own events too)."""
    tps = await topic_partitions(kafka, WATCHED)
    assert len(tps) == 3 * PARTITIONS + 1
    consumer = kafka_client.consumer(kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            if ends[tp] > 0 and (await consumer.committed(tp) or 0) < ends[tp]:
                return False
        return True
    finally:
        await consumer.stop()


def _run_worker(broker: brokers.Cluster, group: str, dsn: str, log_path: Path) -> None:
    worker = brokers.spawn(
        [sys.executable, "-c", WORKER, group, dsn, str(PARTITIONS)],
        log_path,
        env=node_env(broker, log_path.parent, "worker"),
    )
    try:
        deadline = time.monotonic() + 90
        while not asyncio.run(_caught_up(broker.admin, group)):
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"worker did not catch up: {log_path.read_text()[-3000:]}"
            time.sleep(0.5)
        time.sleep(1.5)  # one resource_monitor row at least, and a quiet moment
    finally:
        brokers.stop(worker)
    assert worker.returncode == 0, log_path.read_text()[-3000:]


def _child(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def _tables(dsn: str, marker: str) -> dict[str, list]:
    mine = f"startsWith(node_id, '{marker}')"
    where = {
        "polling_log": mine,
        "polling_state": mine,
        "node_state": mine,
        "ip_address": f"startsWith(learnt_from, '{marker}')",
        "certificates": f"startsWith(server, '{marker}')",
        "event_log": f"{mine} OR id LIKE 'undecodable:%'",
        "snmp_traps": f"trap_name = 'TEST-MIB::{marker}'",
        "nodes": f"startsWith(id, '{marker}')",
        "pollings": f"startsWith(id, '{marker}')",
        "networks": "0",
    }
    queries = {name: q.format(db="netobs", where=where[name]) for name, q in ALL_TABLES.items()}
    queries["resource_monitor"] = "SELECT count(), min(rss_bytes), max(insert_rate) FROM netobs.resource_monitor"
    return json.loads(_child(DUMP, dsn, json.dumps(queries)))


def test_worker_projects_every_topic_and_replay_rebuilds_identical_tables(broker, tmp_path):
    marker, group = f"m{uuid.uuid4().hex[:8]}", f"netobs-worker-mon-{uuid.uuid4().hex[:8]}"
    dsn = f"chdb://{(tmp_path / 'clickhouse').resolve()}"
    t0 = time.time_ns() - 600 * S
    asyncio.run(ensure_topics(broker.admin, PARTITIONS, 1))
    asyncio.run(_publish(broker.admin, marker, t0))

    _run_worker(broker, group, dsn, tmp_path / "worker1.log")
    before = _tables(dsn, marker)

    a, b = f"{marker}-a", f"{marker}-b"
    log = before["event_log"]  # in time order
    assert [(r[4], r[3], r[9]) for r in log if r[7] == f"{a}-ping"] == [
        ("unknown", "normal", 0.0),
        ("normal", "high", 0.0),
        ("high", "repair", 60.0),
        ("repair", "normal", 0.0),
    ]
    assert [(r[4], r[3]) for r in log if r[5] == a and r[2] == "node"] == [
        ("unknown", "normal"),
        ("normal", "high"),
        ("high", "repair"),
        ("repair", "normal"),
    ]
    assert {(r[4], r[3]) for r in log if r[5] == b and r[2] == "node"} == {
        ("unknown", "normal"),
        ("normal", "warn"),
        ("warn", "high"),
    }
    assert any(r[0].startswith(f"undecodable:{POLL_RESULTS}:0:") and r[2] == "system" for r in log)
    # A node's state is the worst of its pollings': b has a failed ping (high) and a warn.
    assert [(r[0], r[2]) for r in before["node_state"]] == [(a, "normal"), (b, "high")]
    assert [(r[0], r[2]) for r in before["polling_state"]] == [
        (f"{a}-ping", "normal"),
        (f"{a}-snmp", "normal"),
        (f"{a}-tls", "normal"),
        (f"{b}-ping", "high"),
        (f"{b}-snmp", "warn"),
    ]
    # polling_log: every result of a logging polling, and the state changes of the others, values typed.
    polling_log = [(r[1].removeprefix(marker + "-"), r[6], r[7], r[10]) for r in before["polling_log"]]
    polling_log.sort(key=lambda r: r[0][0])  # a's rows, then b's, each in topic order
    assert polling_log == [
        ("a-ping", "ok", "normal", {"rtt_ms": 1.25}),
        ("a-snmp", "ok", "normal", {"rtt_ms": 1.25}),
        ("a-ping", "fail", "high", {}),
        ("a-tls", "ok", "normal", {"rtt_ms": 1.25}),
        ("a-ping", "ok", "repair", {"rtt_ms": 1.25}),
        ("a-ping", "ok", "normal", {"rtt_ms": 1.25}),
        ("a-snmp", "ok", "normal", {"rtt_ms": 1.25}),
        ("b-ping", "ok", "normal", {"rtt_ms": 1.25}),
        ("b-snmp", "ok", "warn", {"sysUpTime": 5.0}),
        ("b-ping", "fail", "high", {}),
    ]
    assert [(r[0], r[1], r[4]) for r in before["ip_address"]] == [
        ("10.7.0.5", "02:00:00:00:00:05", a),
        ("10.7.0.6", "02:00:00:00:00:06", a),
    ]
    assert [(r[0], r[1], r[2], r[4], r[7], r[8]) for r in before["certificates"]] == [
        (f"{a}.test", 8443, "0A1B2C", "CN=a.test", "2034-01-01 00:00:00", True)
    ]
    trap_rows = [(r[17], r[18], r[19], r[16]) for r in before["snmp_traps"]]
    at = trap_rows[0][1]  # two trap batches, then an undecodable record that stores nothing
    assert trap_rows == [
        (1, at, 0, "IF-MIB::ifIndex.3=3"),
        (1, at, 1, "IF-MIB::ifIndex.3=3"),
        (1, at + 1, 0, "IF-MIB::ifIndex.3=3"),
    ]
    assert [(r[0], r[1], r[9]) for r in before["nodes"]] == [
        (f"{marker}-na", "host-a", False),
        (f"{marker}-nb", "host-b", False),
        (f"{marker}-nc", "", True),
    ]
    assert [r[0] for r in before["pollings"]] == [f"{marker}-pa", f"{marker}-pb", f"{marker}-pc"]
    rows, rss, _ = before["resource_monitor"][0]
    assert rows >= 1 and int(rss) > 0

    # Drop the projections, replay the topics, get identical tables.
    assert _child(REPLAY, group, dsn, env=node_env(broker, tmp_path, "worker"))
    _run_worker(broker, group, dsn, tmp_path / "worker2.log")
    after = _tables(dsn, marker)
    for name in ALL_TABLES:
        assert after[name] == before[name], name


def test_a_removed_polling_leaves_its_node_state(client):
    """A polling deleted from the inventory (a removal in the poll topic) no longer weighs on its node."""
    db = "monitoring_rm"  # a database of its own: the other tests' saved machines and offsets are not in it
    t0 = time.time_ns() - 1800 * S
    failing, fine = "rm-n9-failing", "rm-n9-fine"
    batches = [[result(fine, "rm-n9", t0), result(failing, "rm-n9", t0 + 1, "fail")]]
    projector = StateProjector(client, db)
    records = poll_records(batches, 3, 0)
    removal = polls.Removal(kind="polling", id=failing, node_id="rm-n9", time_ns=t0 + 10 * S)
    records.append((3, 1, t0 + 10 * S, polls.encode(PollBatch(polls.WIRE_VERSION, [], [removal]))))
    pending = projector.prepare(records)
    projector.commit(pending)
    node_events = [(e.last_level, e.level) for e in pending.events if e.type == "node" and e.node_id == "rm-n9"]
    assert node_events[-1] == ("high", "normal")
    assert failing not in projector._partitions[3].machine.polling_states()
    rows = client.query(f"SELECT state FROM {db}.node_state FINAL WHERE node_id = 'rm-n9'").result_rows
    assert rows == [("normal",)]
