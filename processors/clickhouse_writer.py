"""The ClickHouse edge of the worker: columnar inserts with deduplication tokens, and the processors' saved
states (processor_state).

Only this module talks to ClickHouse on the write side; what it writes is described in schemas/.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from processors import metrics
from processors.native_format import ColumnTypes
from processors.projector import Row
from processors.syslog.miner import PatternChange
from schemas.tables import COLUMNS, PROCESSOR_STATE, SYSLOG, SYSLOG_PATTERNS


def dedup_token(topic: str, ranges: dict[int, tuple[int, int]]) -> str:
    """A token naming exactly which offsets an insert holds: a retry of the same insert inserts nothing."""
    text = topic + ";" + ";".join(f"{p}:{lo}-{hi}" for p, (lo, hi) in sorted(ranges.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def stored_high_offsets(client: Any, db: str) -> dict[int, int]:
    """The highest raw-topic offset already stored, per partition: records at or below it are in."""
    rows = client.query(f"SELECT kafka_partition, max(kafka_offset) FROM {db}.{SYSLOG} GROUP BY kafka_partition")
    return {int(p): int(o) for p, o in rows.result_rows}


def insert_columns(client: Any, db: str, table: str, values: Mapping[str, Sequence[Any]], token: str = "") -> None:
    """One columnar insert of rows given column by column, by name, deduplicated by token if one is given
    (where the table keeps a window). Raises ValueError when the names are not the table's insert columns or
    the columns differ in length: a builder and schemas.tables that disagree never store shifted values.
    """
    names = COLUMNS[table]
    if values.keys() != set(names):
        raise ValueError(f"{table}: columns {sorted(values.keys() ^ set(names))} are not the table's insert columns")
    columns = [values[name] for name in names]
    if len({len(c) for c in columns}) != 1:
        raise ValueError(f"{table}: columns of different lengths")
    if not columns[0]:
        return
    started = time.perf_counter()
    client.insert(
        f"{db}.{table}",
        columns,
        column_names=list(names),
        column_oriented=True,
        settings={"insert_deduplication_token": token} if token else None,
    )
    metrics.INSERT_SECONDS.labels(table).observe(time.perf_counter() - started)
    metrics.ROWS_INSERTED.labels(table).inc(len(columns[0]))


def column_types(client: Any, db: str, table: str) -> ColumnTypes:
    """(name, type) of table's insert columns in insert order, as the store has them: what Native blocks for
    it are encoded with. Raises ValueError when the store lacks one (a migration not applied)."""
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String}",
        parameters={"db": db, "table": table},
    ).result_rows
    types = {str(name): str(kind) for name, kind in rows}
    missing = [name for name in COLUMNS[table] if name not in types]
    if missing:
        raise ValueError(f"{db}.{table} has no column {', '.join(missing)}: are its migrations applied?")
    return tuple((name, types[name]) for name in COLUMNS[table])


def insert_native(
    client: Any, db: str, table: str, types: ColumnTypes, payload: bytes, rows: int, token: str = ""
) -> None:
    """One insert of rows already encoded as Native blocks with types (processors.native_format), deduplicated
    by token as insert_columns is."""
    if not rows:
        return
    started = time.perf_counter()
    client.raw_insert(
        f"{db}.{table}",
        [name for name, _ in types],
        payload,
        settings={"insert_deduplication_token": token} if token else None,
        fmt="Native",
    )
    metrics.INSERT_SECONDS.labels(table).observe(time.perf_counter() - started)
    metrics.ROWS_INSERTED.labels(table).inc(rows)


def column_values(rows: Sequence[Row], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows (values by column name) as columns; raises when a row's names are not exactly names."""
    width = len(names)
    if any(len(row) != width for row in rows):
        raise ValueError(f"rows whose names are not the columns {list(names)}")
    return {name: [row[name] for row in rows] for name in names}


def insert_patterns(client: Any, db: str, changes: Sequence[tuple[PatternChange, int]]) -> None:
    """Record new and re-pointed templates, each with its version (µs); the newest row per template id wins.
    The projector versions a change by the broker time of the record that made it (not the clock), so a
    replay rebuilds the table identical. A change the table already holds as it is (a miner restarted
    without its snapshot finds its templates again) is not written again: the first row, with the true
    first_seen, stays."""
    if not changes:
        return
    ids = sorted({c.template_id for c, _ in changes})
    stored = {
        (int(tid), str(text), int(current))
        for tid, text, current in client.query(
            f"SELECT template_id, argMax(template, updated_at), argMax(current_id, updated_at) "
            f"FROM {db}.{SYSLOG_PATTERNS} WHERE template_id IN {{ids:Array(UInt64)}} GROUP BY template_id",
            parameters={"ids": ids},
        ).result_rows
    }
    fresh = [(c, v) for c, v in changes if (c.template_id, c.template, c.current_id) not in stored]
    if fresh:
        insert_rows(client, db, SYSLOG_PATTERNS, pattern_rows(fresh))


def pattern_rows(changes: Sequence[tuple[PatternChange, int]]) -> list[Row]:
    """The syslog_patterns rows of template changes and their versions (µs)."""
    return [
        {
            "template_id": c.template_id,
            "template": c.template,
            "current_id": c.current_id,
            "first_seen": c.first_seen_ns // 1000,
            "updated_at": version_us,
        }
        for c, version_us in changes
    ]


def save_state(client: Any, db: str, topic: str, partition: int, offset: int, state: bytes) -> None:
    """Keep the state of a partition's processor (template miner, state machine), with the last offset it has
    seen."""
    insert_rows(client, db, PROCESSOR_STATE, [state_row(topic, partition, offset, time.time_ns() // 1000, state)])


def state_row(topic: str, partition: int, offset: int, saved_us: int, state: bytes) -> Row:
    """The saved state of a partition's processor as a row."""
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "saved_at": saved_us,
        "state": base64.b64encode(state).decode(),
    }


def load_state(client: Any, db: str, topic: str, partition: int) -> tuple[int, bytes] | None:
    """The newest saved state of a partition's processor and its offset, or None."""
    rows = client.query(
        f"SELECT offset, state FROM {db}.{PROCESSOR_STATE} WHERE topic = {{t:String}} AND partition = {{p:UInt32}} "
        "ORDER BY saved_at DESC LIMIT 1",
        parameters={"t": topic, "p": partition},
    ).result_rows
    if not rows:
        return None
    offset, state = rows[0]
    return int(offset), base64.b64decode(state)


def insert_rows(client: Any, db: str, table: str, rows: Sequence[Row], token: str = "") -> None:
    """One columnar insert of rows (values by column name), deduplicated by token if one is given (where the
    table keeps a window)."""
    if rows:
        insert_columns(client, db, table, column_values(rows, COLUMNS[table]), token)


def insert_new_events(client: Any, db: str, table: str, rows: Sequence[Row], token: str) -> None:
    """Insert event_log rows whose id is not stored yet, the first of each id winning.

    Event ids are deterministic, so the copies a replay or a re-applied batch publishes again are
    dropped here and each event keeps the topic position of its first copy: a rebuilt event_log equals
    the original row for row. The look-up is bounded by the batch's time range (event_log's key).
    """
    first: dict[str, Row] = {}
    for row in rows:
        first.setdefault(row["id"], row)
    if not first:
        return
    times = [row["time"] for row in first.values()]
    stored = client.query(
        f"SELECT DISTINCT id FROM {db}.{table} WHERE time BETWEEN fromUnixTimestamp64Micro({{lo:Int64}}, 'UTC') "
        "AND fromUnixTimestamp64Micro({hi:Int64}, 'UTC') AND id IN {ids:Array(String)}",
        parameters={"lo": min(times), "hi": max(times), "ids": list(first)},
    ).result_rows
    known = {r[0] for r in stored}
    insert_rows(client, db, table, [r for i, r in first.items() if i not in known], token)


def high_offsets(client: Any, db: str, table: str) -> dict[int, int]:
    """The highest topic offset stored in a projection table with kafka_partition/kafka_offset, per partition."""
    rows = client.query(
        f"SELECT kafka_partition, max(kafka_offset) FROM {db}.{table} GROUP BY kafka_partition"
    ).result_rows
    return {int(p): int(o) for p, o in rows}


def version_high_offsets(client: Any, db: str, table: str) -> dict[int, int]:
    """The highest inventory offset stored in an inventory table (version is the offset; one partition)."""
    rows = client.query(f"SELECT 0 AS p, max(version) FROM {db}.{table} GROUP BY p").result_rows
    return {int(p): int(o) for p, o in rows}


def truncate(client: Any, db: str, tables: Sequence[str]) -> None:
    """Empty projection tables (their deduplication windows go with them), for a replay."""
    for table in tables:
        client.command(f"TRUNCATE TABLE IF EXISTS {db}.{table}")


def forget_states(client: Any, db: str, topics: Sequence[str]) -> None:
    """Drop the saved per-partition processor states of topics, so a replay starts them afresh."""
    client.command(
        f"DELETE FROM {db}.{PROCESSOR_STATE} WHERE topic IN {{topics:Array(String)}}",
        parameters={"topics": list(topics)},
    )
