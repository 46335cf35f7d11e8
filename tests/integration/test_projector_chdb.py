"""The projector against the real embedded ClickHouse: replays and restarts store every line exactly once."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from common import clickhouse, migrations
from processors import clickhouse_writer
from processors.syslog.parse_pool import ParseProcessLost
from processors.syslog.projector import SyslogProjector
from processors.syslog.rows import UNDECODABLE
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(chdb_path):
    return clickhouse.connect(f"chdb://{chdb_path}")


@pytest.fixture(scope="module", params=[0, 2], ids=["in-process", "parse-processes"])
def store(request, client):
    """(database, parse_processes): each way of mining gets a database of its own."""
    db = f"projector_{request.param}"
    migrations.apply(client, db, 30)
    return db, request.param


def _records(partition: int, start: int, count: int, lines_per_record: int = 50) -> list[tuple[int, int, int, bytes]]:
    now = time.time_ns()
    out = []
    for offset in range(start, start + count):
        lines = [
            f"<30>Nov 22 04:50:{i % 60:02d} sw{partition} sshd[{offset}]: Accepted password for u{i} "
            f"from 10.0.0.{i % 250} port {1000 + i} ssh2 rec{partition}-{offset}".encode()
            for i in range(lines_per_record)
        ]
        batch = raw_syslog.RawBatch(
            version=1,
            transport="udp",
            received_ns=[now] * len(lines),
            sources=[f"10.9.0.{partition}"] * len(lines),
            lines=lines,
            flags=[0] * len(lines),
        )
        out.append((partition, offset, now, raw_syslog.encode(batch)))
    return out


def _count(client, db: str, where: str = "1") -> tuple[int, int]:
    rows = client.query(
        f"SELECT count(), uniqExact(kafka_partition, kafka_offset, line_no) FROM {db}.syslog WHERE {where}"
    ).result_rows
    return int(rows[0][0]), int(rows[0][1])


def test_replay_and_restart_store_each_line_once(client, store):
    db, processes = store
    topic = SYSLOG_RAW
    first = SyslogProjector(client, db, topic, snapshot_seconds=0, parse_processes=processes)
    records = _records(0, 0, 20) + _records(1, 0, 20)
    first.process(records[:10] + records[20:30])
    first.process(records[10:20] + records[30:40])
    assert _count(client, db, "host IN ('sw0', 'sw1')") == (2000, 2000)

    # The same batch delivered again (offsets not committed before a crash): nothing is added.
    first.process(records[10:20])
    # A new worker gets everything again from offset 0, in different batches: nothing is added.
    first.release_all()
    second = SyslogProjector(client, db, topic, snapshot_seconds=0, parse_processes=processes)
    second.process(records[:5])
    second.process(records[5:25] + _records(0, 20, 5))
    assert _count(client, db, "host IN ('sw0', 'sw1')") == (2250, 2250)
    second.release_all()


def test_template_ids_agree_across_restart(client, store):
    db, processes = store
    projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0, parse_processes=processes)
    projector.process(_records(2, 0, 4))
    projector.release_all()
    restarted = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0, parse_processes=processes)
    restarted.process(_records(2, 4, 4))
    restarted.release_all()
    ids = client.query(
        f"SELECT uniqExact(template_id) FROM {db}.syslog WHERE host = 'sw2' AND kafka_offset >= 2"
    ).result_rows[0][0]
    assert ids == 1


def test_poison_record_is_kept_and_the_partition_moves_on(client, store):
    db, processes = store
    projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0, parse_processes=processes)
    poison = (3, 0, time.time_ns(), b"\xc1 not msgpack at all")
    projector.process([poison, *_records(3, 1, 2)])
    projector.release_all()
    rows = client.query(
        f"SELECT message, parse_error, hex(raw) FROM {db}.syslog WHERE kafka_partition = 3 AND kafka_offset = 0"
    ).result_rows
    assert rows == [(UNDECODABLE, True, poison[3].hex().upper())]
    assert _count(client, db, "kafka_partition = 3") == (101, 101)


def test_an_existing_database_keeps_its_saved_states_in_processor_state(client, monkeypatch):
    db = "migration_test"
    shipped = migrations.migration_files()
    monkeypatch.setattr(migrations, "migration_files", lambda: [m for m in shipped if m[0] < 5])
    assert migrations.apply(client, db, 30) == [name for v, name, _ in shipped if v < 5]
    saved = clickhouse_writer.state_row(SYSLOG_RAW, 0, 41, 1, b"miner")
    client.insert(f"{db}.miner_state", [list(saved.values())], column_names=list(saved))
    monkeypatch.undo()

    assert migrations.apply(client, db, 30) == [name for v, name, _ in shipped if v >= 5]
    assert not client.command(f"EXISTS TABLE {db}.miner_state")
    assert clickhouse_writer.load_state(client, db, SYSLOG_RAW, 0) == (41, b"miner")
    # A crash after the rename but before it was recorded: the rerun renames nothing and records it.
    client.command(f"DELETE FROM {db}.schema_migrations WHERE version = 5")
    assert migrations.apply(client, db, 30) == ["0005_processor_state.sql"]
    assert migrations.apply(client, db, 30) == []

    clickhouse_writer.forget_states(client, db, [SYSLOG_RAW])
    assert clickhouse_writer.load_state(client, db, SYSLOG_RAW, 0) is None


def test_a_replay_rebuilds_the_template_table_identical(client):
    """syslog_patterns is versioned by the broker time of the record that changed a template, not the clock
    nor the batch, so `netobs replay` (which batches differently) rebuilds it row for row."""
    base = 1_700_000_000_000_000_000
    records = [(p, o, base + o * 1_000_000, v) for p, o, _, v in _records(4, 0, 6)]
    tables = []
    for db, batches in (("replay_a", [records]), ("replay_b", [records[:1], records[1:4], records[4:]])):
        migrations.apply(client, db, 30)
        projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0)
        for batch in batches:
            projector.process(batch)
        tables.append(
            client.query(
                f"SELECT template_id, template, current_id, first_seen, updated_at FROM {db}.syslog_patterns FINAL "
                "ORDER BY template_id"
            ).result_rows
        )
    assert tables[0] and tables[0] == tables[1]
    versions = {round(row[4].timestamp() * 1e6) for row in tables[0]}
    assert versions <= {ns // 1000 for _, _, ns, _ in records}


def test_parse_processes_store_what_the_worker_itself_stores(client):
    """The rows and templates from parse processes are those the worker's own parsing makes, value for value."""
    records = _records(5, 0, 8) + _records(6, 0, 8) + [(5, 8, time.time_ns(), b"\xc1 poison")]
    tables = []
    for db, processes in (("same_local", 0), ("same_pool", 3)):
        migrations.apply(client, db, 30)
        projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0, parse_processes=processes)
        projector.process(records[:5])
        projector.process(records[5:])
        projector.release_all()
        tables.append(
            [
                client.query(f"SELECT * FROM {db}.{table} ORDER BY ALL").result_rows
                for table in ("syslog", "syslog_patterns")
            ]
        )
    assert len(tables[0][0]) == 16 * 50 + 1
    assert tables[0] == tables[1]


def test_a_killed_parse_process_loses_nothing(client):
    db = "killed_parse"
    migrations.apply(client, db, 30)
    projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=3600, parse_processes=2)
    projector.process(_records(0, 0, 4) + _records(1, 0, 4))
    for child in multiprocessing.active_children():
        if child.name == "netobs-parse-1":
            child.kill()
            child.join()
    batch = _records(0, 4, 4) + _records(1, 4, 4)
    with pytest.raises(ParseProcessLost) as lost:
        projector.process(batch)
    assert lost.value.partitions == {1}
    projector.process(batch)  # the worker's retry: partition 1's miner restarts from processor_state
    projector.process(_records(1, 8, 2))
    projector.release_all()
    assert _count(client, db) == (18 * 50, 18 * 50)


def test_a_miner_lost_in_a_crash_does_not_rewrite_when_its_templates_were_first_seen(client):
    """A worker that crashed before its first miner snapshot comes back with a new miner, which finds the same
    template again in later lines: the table keeps its first row (the true first_seen), as a replay has it."""
    db = "crash_patterns"
    migrations.apply(client, db, 30)
    base = 1_700_000_000_000_000_000
    records = []
    for offset in range(6):
        lines = [
            f"<38>Nov 22 04:50:0{offset} fw1 sshd[{offset}]: Connection closed by 10.0.0.{i} port {i}".encode()
            for i in range(20)
        ]
        received = [base + offset * 1_000_000_000] * len(lines)
        batch = raw_syslog.RawBatch(1, "udp", received, ["10.9.0.7"] * len(lines), lines, [0] * len(lines))
        records.append((7, offset, received[0], raw_syslog.encode(batch)))
    query = f"SELECT template_id, template, first_seen, updated_at FROM {db}.syslog_patterns FINAL"
    SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=3600).process(records[:3])  # then it dies
    before = client.query(query).result_rows
    SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=3600).process(records[3:])
    assert len(before) == 1
    assert client.query(query).result_rows == before


@pytest.mark.parametrize("processes", [0, 2])
def test_a_batch_goes_in_chunk_by_chunk_and_a_failed_insert_keeps_the_pipes_in_step(client, monkeypatch, processes):
    """A backlog's batch is mined and inserted a chunk at a time (the parse processes mine the next while one is
    inserted); an insert failing mid-batch is retried by the worker with the same records: every line once."""
    from processors.syslog import projector as projector_module

    db = f"chunks_{processes}"
    migrations.apply(client, db, 30)
    monkeypatch.setattr(projector_module, "CHUNK_BYTES", 1)  # every record a chunk of its own
    real_insert = clickhouse_writer.insert_native
    calls = []

    def insert_failing_once(*args, **kwargs):
        calls.append(args[5])
        if len(calls) == 3:
            raise ConnectionError("the store went away")
        real_insert(*args, **kwargs)

    monkeypatch.setattr(clickhouse_writer, "insert_native", insert_failing_once)
    projector = SyslogProjector(client, db, SYSLOG_RAW, snapshot_seconds=0, parse_processes=processes)
    batch = _records(0, 0, 5) + _records(1, 0, 5)
    with pytest.raises(ConnectionError):
        projector.process(batch)
    assert _count(client, db) == (100, 100)  # the two chunks before the failure are in
    assert projector.process(batch) == 8 * 50  # the retry stores the rest
    projector.process(_records(0, 5, 2))
    projector.release_all()
    assert _count(client, db) == (12 * 50, 12 * 50)
    assert len(calls) == 3 + 8 + 2
