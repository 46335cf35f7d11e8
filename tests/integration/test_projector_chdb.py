"""The projector against the real embedded ClickHouse: replays and restarts store every line exactly once."""

from __future__ import annotations

import time

import pytest

from common import clickhouse, migrations
from processors import clickhouse_writer
from processors.syslog.projector import SyslogProjector
from processors.syslog.rows import UNDECODABLE
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW

pytestmark = pytest.mark.integration

DB = "projector_test"


@pytest.fixture(scope="module")
def client(chdb_path):
    c = clickhouse.connect(f"chdb://{chdb_path}")
    migrations.apply(c, DB, 30)
    return c


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


def _count(client, where: str = "1") -> tuple[int, int]:
    rows = client.query(
        f"SELECT count(), uniqExact(kafka_partition, kafka_offset, line_no) FROM {DB}.syslog WHERE {where}"
    ).result_rows
    return int(rows[0][0]), int(rows[0][1])


def test_replay_and_restart_store_each_line_once(client):
    topic = SYSLOG_RAW
    first = SyslogProjector(client, DB, topic, snapshot_seconds=0)
    records = _records(0, 0, 20) + _records(1, 0, 20)
    first.process(records[:10] + records[20:30])
    first.process(records[10:20] + records[30:40])
    assert _count(client, "host IN ('sw0', 'sw1')") == (2000, 2000)

    # The same batch delivered again (offsets not committed before a crash): nothing is added.
    first.process(records[10:20])
    # A new worker gets everything again from offset 0, in different batches: nothing is added.
    second = SyslogProjector(client, DB, topic, snapshot_seconds=0)
    second.process(records[:5])
    second.process(records[5:25] + _records(0, 20, 5))
    assert _count(client, "host IN ('sw0', 'sw1')") == (2250, 2250)


def test_template_ids_agree_across_restart(client):
    projector = SyslogProjector(client, DB, SYSLOG_RAW, snapshot_seconds=0)
    projector.process(_records(2, 0, 4))
    projector.release_all()
    restarted = SyslogProjector(client, DB, SYSLOG_RAW, snapshot_seconds=0)
    restarted.process(_records(2, 4, 4))
    ids = client.query(
        f"SELECT uniqExact(template_id) FROM {DB}.syslog WHERE host = 'sw2' AND kafka_offset >= 2"
    ).result_rows[0][0]
    assert ids == 1


def test_poison_record_is_kept_and_the_partition_moves_on(client):
    projector = SyslogProjector(client, DB, SYSLOG_RAW, snapshot_seconds=0)
    poison = (3, 0, time.time_ns(), b"\xc1 not msgpack at all")
    projector.process([poison, *_records(3, 1, 2)])
    rows = client.query(
        f"SELECT message, parse_error, hex(raw) FROM {DB}.syslog WHERE kafka_partition = 3 AND kafka_offset = 0"
    ).result_rows
    assert rows == [(UNDECODABLE, True, poison[3].hex().upper())]
    assert _count(client, "kafka_partition = 3") == (101, 101)


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
