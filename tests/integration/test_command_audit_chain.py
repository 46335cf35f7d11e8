"""command_audit's hash chain on real embedded ClickHouse, and `netobs audit verify` as a user runs it.

In this process (the session's chdb path, one database per test): steps projected in batches get a
continuous seq and an intact chain, redelivery adds nothing, and each kind of tampering (an edited field,
an edited row with its hash recomputed, a removed row, an edited prev_hash, a time moved by one
nanosecond) is named at the right record. In child processes (their own chdb paths): the CLI's exit codes
and messages, and the Faust worker projecting the command results topic of a real broker, across a
restart and a replay.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from common import audit_chain, clickhouse, kafka_client, migrations
from common.audit_chain import chain_hash
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.signing import sign
from executor.command_audit_verify import verify, walk
from processors import clickhouse_writer
from processors.tables import command_audit_rows
from processors.tables.projector import TableProjector, projections
from schemas import commands
from schemas.commands import Step
from schemas.tables import COMMAND_AUDIT, COMMAND_AUDIT_CHAINED
from schemas.topics import COMMAND_RESULTS
from tests import brokers
from tests.integration.pipeline import node_env
from tests.signing_keys import KEYS, WORKER

pytestmark = pytest.mark.integration

T0 = 1_760_000_000_000_000_000
STEPS = KEYS["steps"]
KEYS_OF_VERIFY = (STEPS, KEYS["mcp_audit"])
COMMAND_AUDIT_ROWS = projections(WORKER)[-1]
NETOBS = Path(sys.executable).with_name("netobs")
REPO = Path(__file__).resolve().parents[2]


def lifecycle(marker: str, n: int, t0: int = T0) -> list[Step]:
    """Steps of n commands: requested, executing, executed (or denied for every third), times to the nanosecond."""
    steps = []
    for i in range(n):
        cid, t = f"{marker}-c{i}", t0 + i * 1_000_000_007
        steps.append(Step(command_id=cid, step="requested", time_ns=t + 1, actor="ops", client="127.0.0.1",
                          tool="do_ping", args='{"target":"127.0.0.1"}', reason="check"))  # fmt: skip
        if i % 3 == 2:
            steps.append(Step(command_id=cid, step="denied", time_ns=t + 2, actor="executor", reason="not managed"))
            continue
        steps.append(Step(command_id=cid, step="executing", time_ns=t + 3, actor="executor"))
        steps.append(Step(command_id=cid, step="executed", time_ns=t + 999, actor="executor", result='{"rtt":1}'))
    return [sign(KEYS["steps"], step) for step in steps]


def records(values: list[bytes], start: int = 0) -> list[tuple[int, int, int, bytes]]:
    return [(0, start + i, T0, v) for i, v in enumerate(values)]


@pytest.fixture(scope="module")
def client(chdb_path):
    return clickhouse.connect(f"chdb://{chdb_path}")


def fresh(client, name: str) -> str:
    db = f"command_audit_{name}_{uuid.uuid4().hex[:6]}"
    migrations.apply(client, db, 30)
    return db


def stored(client, db: str) -> list[tuple]:
    return client.query(
        f"SELECT seq, kafka_offset, command_id, step, toUnixTimestamp64Nano(time), prev_hash, hash "
        f"FROM {db}.{COMMAND_AUDIT} ORDER BY seq"
    ).result_rows


def test_batches_chain_on_and_redelivery_adds_nothing(client):
    db = fresh(client, "batches")
    steps = lifecycle("b", 4)  # 3 + 3 + 2 + 3 = 11 steps
    values = [commands.encode(s) for s in steps]
    values.insert(4, b"\x00 not a step")  # offset 4: skipped, and not in the chain
    recs = records(values)
    projector = TableProjector(client, db, COMMAND_AUDIT_ROWS)
    assert verify(client, db, *KEYS_OF_VERIFY) == (0, None)  # an empty table is intact
    assert projector.process(recs[:6]) == 5
    assert projector.process(recs[6:]) == 6
    assert projector.records_undecodable == 1

    rows = stored(client, db)
    assert [r[0] for r in rows] == list(range(11))
    assert [r[1] for r in rows] == [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert [(r[2], r[3], r[4]) for r in rows] == [(s.command_id, s.step, s.time_ns) for s in steps]
    assert rows[5][5] == rows[4][6], "the second batch chains on the first batch's last hash"
    assert verify(client, db, *KEYS_OF_VERIFY) == (11, None)

    # Redelivered: to the same projector, to a new one (a restart), and a retried insert that had landed.
    assert projector.process(recs[6:]) == 0
    assert TableProjector(client, db, COMMAND_AUDIT_ROWS).process(recs) == 0
    retried = [command_audit_rows.record_rows(v, 0, o, *KEYS_OF_VERIFY)[0] for _, o, _, v in recs[6:]]
    token = clickhouse_writer.dedup_token(COMMAND_RESULTS, {0: (6, 11)})
    command_audit_rows.insert_chained(client, db, COMMAND_AUDIT, retried, token)
    assert stored(client, db) == rows

    # New steps continue the chain after the last stored row.
    more = records([commands.encode(s) for s in lifecycle("b2", 1)], start=12)
    assert TableProjector(client, db, COMMAND_AUDIT_ROWS).process(more) == 3
    assert [r[0] for r in stored(client, db)][-3:] == [11, 12, 13]
    assert verify(client, db, *KEYS_OF_VERIFY) == (14, None)


def chained(client, db: str, seq: int) -> tuple[dict, str]:
    """The fields a row's hash covers, and its prev_hash, as read back."""
    columns = ", ".join("toUnixTimestamp64Nano(time)" if c == "time" else c for c in COMMAND_AUDIT_CHAINED)
    row = client.query(
        f"SELECT {columns}, prev_hash FROM {db}.{COMMAND_AUDIT} WHERE seq = {{s:UInt64}}", parameters={"s": seq}
    ).result_rows[0]
    return audit_chain.chained_fields(row[:-1]), row[-1]


def audit_of(client, name: str, n: int = 3) -> str:
    """A database whose command_audit holds the lifecycles of n commands (3 -> 8 records)."""
    db = fresh(client, name)
    values = [commands.encode(s) for s in lifecycle(name, n)]
    TableProjector(client, db, COMMAND_AUDIT_ROWS).process(records(values))
    assert verify(client, db, *KEYS_OF_VERIFY) == (len(values), None)
    return db


def alter(client, db: str, assignments: str, seq: int) -> None:
    client.command(
        f"ALTER TABLE {db}.{COMMAND_AUDIT} UPDATE {assignments} WHERE seq = {seq}", settings={"mutations_sync": 2}
    )


def test_an_edited_result_is_named_at_its_seq(client):
    db = audit_of(client, "edited")
    alter(client, db, "result = '{\"rtt\":0}'", 2)
    checked, broken = verify(client, db, *KEYS_OF_VERIFY)
    assert (checked, broken.seq, broken.position) == (2, 2, 2)
    assert "hash does not match" in broken.reason


def test_an_edit_with_its_hash_recomputed_is_named_at_the_next_record(client):
    db = audit_of(client, "rehashed")
    fields, prev = chained(client, db, 2)
    forged = dict(fields, result='{"rtt":0}')
    alter(client, db, f"result = '{{\"rtt\":0}}', hash = '{chain_hash(prev, forged)}'", 2)
    # Without the steps key the chain would hold until the next record; the signature names the edit itself.
    checked, broken = verify(client, db, *KEYS_OF_VERIFY)
    assert (checked, broken.seq) == (2, 2) and "not from the executor" in broken.reason


def test_a_removed_record_is_named_after_the_gap(client):
    db = audit_of(client, "removed")
    client.command(f"ALTER TABLE {db}.{COMMAND_AUDIT} DELETE WHERE seq = 4", settings={"mutations_sync": 2})
    checked, broken = verify(client, db, *KEYS_OF_VERIFY)
    assert (checked, broken.seq) == (4, 5)
    assert "from 3 to 5" in broken.reason


def test_a_long_chain_is_read_in_blocks_and_a_break_in_a_late_block_is_found(client):
    db = fresh(client, "long")
    steps = [
        sign(STEPS, Step(command_id=f"l{i}", step="requested", time_ns=T0 + i, actor="ops")) for i in range(30_000)
    ]
    TableProjector(client, db, COMMAND_AUDIT_ROWS).process(records([commands.encode(s) for s in steps]))
    started = time.perf_counter()
    checked, broken, last = walk(client, db, *KEYS_OF_VERIFY, block_rows=4096)
    print(f"verify: {checked / (time.perf_counter() - started):,.0f} records/s")
    assert (checked, broken, last.seq) == (30_000, None, 29_999)
    alter(client, db, "actor = 'x'", 25_000)
    checked, broken, last = walk(client, db, *KEYS_OF_VERIFY, block_rows=4096)
    assert (checked, broken.seq, last.fields["command_id"]) == (25_000, 25_000, "l25000")


def test_a_time_moved_by_one_nanosecond_is_found(client):
    db = audit_of(client, "time")
    alter(client, db, "time = fromUnixTimestamp64Nano(toUnixTimestamp64Nano(time) + 1, 'UTC')", 6)
    assert verify(client, db, *KEYS_OF_VERIFY)[1].seq == 6


def test_an_edited_prev_hash_column_is_named(client):
    db = audit_of(client, "prevhash")
    alter(client, db, f"prev_hash = '{'f' * 64}'", 3)
    checked, broken = verify(client, db, *KEYS_OF_VERIFY)
    assert (checked, broken.seq) == (3, 3)
    assert "prev_hash" in broken.reason


# --- The CLI in child processes, on a chdb path of their own ------------------------------------------------

PROJECT = """
import sys
from common.clickhouse import connect
from processors.tables.projector import TableProjector, projections
from common import migrations
from schemas import commands
from tests.integration.test_command_audit_chain import COMMAND_AUDIT_ROWS, lifecycle, records
client = connect(sys.argv[1])
for db in ("netobs", "empty"):
    migrations.apply(client, db, 30)
TableProjector(client, "netobs", COMMAND_AUDIT_ROWS).process(records([commands.encode(s) for s in lifecycle("cli", 3)]))
"""

TAMPER = """
import sys
from common.clickhouse import connect
connect(sys.argv[1]).command(sys.argv[2], settings={"mutations_sync": 2})
"""

HOLD = """
import sys, time
from common.clickhouse import connect
client = connect(sys.argv[1])  # held open, as a running node holds it
print("holding", flush=True)
time.sleep(120)
"""


def child(script: str, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]


def audit_verify(dsn: str, data_dir: Path, database: str = "netobs") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NETOBS_CLICKHOUSE=dsn, NETOBS_CLICKHOUSE_DATABASE=database, NETOBS_DATA_DIR=str(data_dir))
    return subprocess.run(
        [str(NETOBS), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_says_intact_broken_or_unreadable(tmp_path):
    dsn = f"chdb://{tmp_path / 'clickhouse'}"
    child(PROJECT, dsn)
    intact = audit_verify(dsn, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("command_audit: 8 records, chain intact (last seq 7, hash ")
    empty = audit_verify(dsn, tmp_path, "empty")
    assert (empty.returncode, empty.stdout) == (0, "command_audit: 0 records, chain intact\n")

    child(TAMPER, dsn, f"ALTER TABLE netobs.{COMMAND_AUDIT} UPDATE actor = 'someone else' WHERE seq = 1")
    broken = audit_verify(dsn, tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout == (
        "command_audit: chain broken at seq 1 (command cli-c0, step executing, 2025-10-09T08:53:20.000000003Z): "
        "hash does not match the record and the hash before it; the 1 records before it are intact\n"
    )

    holder = brokers.spawn([sys.executable, "-c", HOLD, dsn], tmp_path / "holder.log")
    try:
        deadline = time.monotonic() + 60
        while "holding" not in (tmp_path / "holder.log").read_text():
            assert holder.poll() is None and time.monotonic() < deadline, (tmp_path / "holder.log").read_text()
            time.sleep(0.2)
        held = audit_verify(dsn, tmp_path)
    finally:
        brokers.stop(holder)
    assert held.returncode == 2
    assert "one process opens it at a time" in held.stderr
    assert "Traceback" not in held.stderr and held.stdout == ""

    missing = audit_verify(dsn, tmp_path, "nowhere")
    assert missing.returncode == 2 and f"cannot read nowhere.{COMMAND_AUDIT}" in missing.stderr


# --- The Faust worker in a child, a real broker, a restart and a replay -------------------------------------

WORKER = """
import logging, signal, sys, threading
from common.config import WorkerConfig
from netobs.worker_thread import WorkerThread
from processors.app import make_app
from tests.signing_keys import WORKER
from common.clickhouse import connect
from common import migrations
group, dsn = sys.argv[1:3]
from common.kafka_client import access
from netobs.config import load
kafka = access(load().kafka)  # the worker's principal, from NETOBS_KAFKA_*
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
migrations.apply(connect(dsn), "netobs", 30)
worker = WorkerThread(make_app(kafka, 4, WorkerConfig(group_id=group, batch_records=5, batch_seconds=0.2), dsn,
                               "netobs", keys=WORKER, resource_seconds=60.0))
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
rows = connect(sys.argv[1]).query(
    "SELECT seq, command_id, step FROM netobs.command_audit ORDER BY seq").result_rows
print(json.dumps(rows))
"""

REPLAY = """
import sys
from processors.replay import replay
from common.kafka_client import access
from netobs.config import load
kafka = access(load().kafka)  # the worker's principal, from NETOBS_KAFKA_*
print(replay(kafka, sys.argv[1], sys.argv[2], "netobs").tables)
"""


async def publish(kafka: KafkaAccess, values: list[bytes]) -> None:
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(COMMAND_RESULTS, value, partition=0)
    finally:
        await producer.stop()


async def caught_up(kafka: KafkaAccess, group: str) -> bool:
    tp = TopicPartition(COMMAND_RESULTS, 0)
    consumer = kafka_client.consumer(kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        return (await consumer.committed(tp) or 0) >= end
    finally:
        await consumer.stop()


def run_worker(broker: brokers.Cluster, group: str, dsn: str, log_path: Path) -> None:
    worker = brokers.spawn(
        [sys.executable, "-c", WORKER, group, dsn], log_path, env=node_env(broker, log_path.parent, "worker")
    )
    try:
        deadline = time.monotonic() + 90
        while not asyncio.run(caught_up(broker.admin, group)):
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"worker did not catch up: {log_path.read_text()[-3000:]}"
            time.sleep(0.5)
    finally:
        brokers.stop(worker)
    assert worker.returncode == 0, log_path.read_text()[-3000:]


def dump(dsn: str) -> list[list]:
    out = subprocess.run([sys.executable, "-c", DUMP, dsn], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_worker_chains_the_topic_across_restart_and_replay(broker, tmp_path):
    marker, group = f"w{uuid.uuid4().hex[:8]}", f"netobs-worker-audit-{uuid.uuid4().hex[:8]}"
    dsn = f"chdb://{(tmp_path / 'clickhouse').resolve()}"
    asyncio.run(ensure_topics(broker.admin, 4, 1))
    first = lifecycle(marker, 3)
    values = [commands.encode(s) for s in first]
    asyncio.run(publish(broker.admin, [*values[:4], b"garbage", *values[4:]]))
    run_worker(broker, group, dsn, tmp_path / "worker1.log")
    before = dump(dsn)
    # The topic is shared by the session's tests: the chain holds all of its steps, ours in publish order.
    assert [r[0] for r in before] == list(range(len(before)))
    mine = [(r[1], r[2]) for r in before if r[1].startswith(marker)]
    assert mine == [(s.command_id, s.step) for s in first]
    assert audit_verify(dsn, tmp_path).returncode == 0

    # More steps, then a replay (which must leave command_audit alone) and a restarted worker.
    second = lifecycle(f"{marker}-2", 2)
    asyncio.run(publish(broker.admin, [commands.encode(s) for s in second]))
    replay_env = node_env(broker, tmp_path, "worker")
    out = subprocess.run([sys.executable, "-c", REPLAY, group, dsn], capture_output=True, text=True, env=replay_env)
    assert out.returncode == 0 and COMMAND_AUDIT not in out.stdout, out.stderr[-3000:]
    run_worker(broker, group, dsn, tmp_path / "worker2.log")
    after = dump(dsn)
    assert after[: len(before)] == before, "replay kept the audit as it was"
    assert [r[0] for r in after] == list(range(len(after)))
    assert [(r[1], r[2]) for r in after if r[1].startswith(f"{marker}-2")] == [(s.command_id, s.step) for s in second]
    result = audit_verify(dsn, tmp_path)
    assert result.returncode == 0 and f"{len(after)} records, chain intact" in result.stdout, result.stdout
