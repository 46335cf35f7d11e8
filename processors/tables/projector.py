"""Stateless projections of a topic into tables, exactly once per row: traps, inventory, events, MCP audit,
command audit.

Like the syslog projector, each table is its own offset ledger: for every partition, rows of records at
or below the highest offset a table already holds are not inserted again, and each insert carries a
deduplication token naming its offsets. The ledger is kept per table because one batch may write several
tables (the inventory): if a crash falls between two of its inserts, the redelivered records still reach
the table that missed them. A record that does not decode is counted and logged, never retried; so is a
record refused for its signature (processors.projector.Refused), which is never stored.

The projections of signed topics (inventory, MCP audit, command steps) are made with the keys they check
(projections()).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from processors import clickhouse_writer
from processors.projector import Record, Refused, Row
from processors.tables import command_audit_rows, event_rows, inventory_rows, mcp_audit_rows, trap_rows
from schemas.tables import COMMAND_AUDIT, EVENT_LOG, MCP_AUDIT, NETWORKS, NODES, POLLINGS, SNMP_TRAPS
from schemas.topics import COMMAND_RESULTS, EVENTS, INVENTORY
from schemas.topics import MCP_AUDIT as MCP_AUDIT_TOPIC
from schemas.topics import SNMP_TRAPS as TRAPS_TOPIC

log = logging.getLogger(__name__)

Tables = dict[str, list[Row]]
"""Rows per table built from one record."""


@dataclass(frozen=True)
class Projection:
    """How one topic becomes rows: the builder, the tables it writes, and how each table's ledger is read."""

    topic: str
    build: Callable[[bytes, int, int, int], Tables | None]
    """(value, partition, offset, record_ns) -> rows per table, or None for a record that does not decode."""
    tables: tuple[str, ...]
    high_offsets: Callable[[Any, str, str], dict[int, int]] = clickhouse_writer.high_offsets
    insert: Callable[[Any, str, str, Sequence[Row], str], None] = clickhouse_writer.insert_rows


def widen_range(ranges: dict[int, tuple[int, int]], partition: int, offset: int) -> None:
    """Widen the (lowest, highest) offset range of a partition to take in offset."""
    low, _ = ranges.get(partition, (offset, offset))
    ranges[partition] = (low, offset)


class TableProjector:
    """Projects the records of one topic; one insert per table and batch."""

    def __init__(self, client: Any, database: str, projection: Projection) -> None:
        self._client = client
        self._db = database
        self.projection = projection
        self._stored: dict[int, dict[str, int]] = {}
        self._seen: dict[int, int] = {}
        self._lock = threading.Lock()
        self.rows_stored = 0
        self.records_skipped = 0
        self.records_undecodable = 0
        self.records_refused = 0

    def process(self, records: Sequence[Record]) -> int:
        """Build and store a batch; returns the rows inserted. Raises if an insert fails (retry the batch)."""
        p = self.projection
        with self._lock:
            rows: Tables = {table: [] for table in p.tables}
            ranges: dict[str, dict[int, tuple[int, int]]] = {table: {} for table in p.tables}
            for partition, offset, record_ns, value in records:
                stored = self._stored_offsets(partition)
                if offset <= min(stored.values()):
                    self.records_skipped += 1
                    continue
                try:
                    built = p.build(value, partition, offset, record_ns)
                except Refused as exc:
                    self.records_refused += 1
                    log.warning("%s partition %d offset %d: refused, not stored (%s)", p.topic, partition, offset, exc)
                    continue
                if built is None:
                    self.records_undecodable += 1
                    log.warning("%s partition %d offset %d: undecodable record skipped", p.topic, partition, offset)
                    continue
                for table, table_rows in built.items():
                    if offset > stored[table] and table_rows:
                        rows[table].extend(table_rows)
                        widen_range(ranges[table], partition, offset)
            for table, table_rows in rows.items():
                p.insert(
                    self._client, self._db, table, table_rows, clickhouse_writer.dedup_token(p.topic, ranges[table])
                )
                for partition, (_, high) in ranges[table].items():
                    self._stored[partition][table] = high
            for partition, offset, _, _ in records:
                self._seen[partition] = max(self._seen.get(partition, -1), offset)
            count = sum(len(r) for r in rows.values())
            self.rows_stored += count
            return count

    def stored_offsets(self) -> dict[int, int]:
        """Highest offset handled (stored, skipped as stored, or undecodable) per partition this worker holds."""
        with self._lock:
            return dict(self._seen)

    def release(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns: their ledger is read again if they come back."""
        with self._lock:
            for partition in partitions:
                self._stored.pop(partition, None)
                self._seen.pop(partition, None)

    def release_all(self) -> None:
        """Forget every partition (shutdown)."""
        self.release(list(self._stored))

    def _stored_offsets(self, partition: int) -> dict[str, int]:
        stored = self._stored.get(partition)
        if stored is None:
            p = self.projection
            stored = {t: p.high_offsets(self._client, self._db, t).get(partition, -1) for t in p.tables}
            self._stored[partition] = stored
        return stored


def _trap_tables(value: bytes, partition: int, offset: int, _: int) -> Tables | None:
    rows = trap_rows.record_rows(value, partition, offset)
    return None if rows is None else {SNMP_TRAPS: rows}


@dataclass(frozen=True)
class Keys:
    """The signing keys the worker checks records with (common.signing): it signs nothing."""

    steps: bytes
    inventory: bytes
    mcp_audit: bytes


def projections(keys: Keys) -> tuple[Projection, ...]:
    """Every table projection, those of signed topics checking their records with keys."""

    def inventory_tables(value: bytes, _: int, offset: int, __: int) -> Tables | None:
        built = inventory_rows.record_rows(value, offset, keys.inventory)
        return None if built is None else {built[0]: [built[1]]}

    def audit_tables(value: bytes, partition: int, offset: int, record_ns: int) -> Tables | None:
        rows = mcp_audit_rows.record_rows(value, partition, offset, record_ns, keys.mcp_audit)
        return None if rows is None else {MCP_AUDIT: rows}

    def command_audit_tables(value: bytes, partition: int, offset: int, _: int) -> Tables | None:
        rows = command_audit_rows.record_rows(value, partition, offset, keys.steps, keys.mcp_audit)
        return None if rows is None else {COMMAND_AUDIT: rows}

    return (
        TRAPS,
        Projection(
            INVENTORY,
            inventory_tables,
            (NODES, POLLINGS, NETWORKS),
            high_offsets=clickhouse_writer.version_high_offsets,
        ),
        EVENT_LOG_ROWS,
        Projection(MCP_AUDIT_TOPIC, audit_tables, (MCP_AUDIT,)),
        Projection(COMMAND_RESULTS, command_audit_tables, (COMMAND_AUDIT,), insert=command_audit_rows.insert_chained),
    )


def _event_tables(value: bytes, partition: int, offset: int, record_ns: int) -> Tables | None:
    return {EVENT_LOG: event_rows.record_rows(value, partition, offset, record_ns)}


TRAPS = Projection(TRAPS_TOPIC, _trap_tables, (SNMP_TRAPS,))
EVENT_LOG_ROWS = Projection(EVENTS, _event_tables, (EVENT_LOG,), insert=clickhouse_writer.insert_new_events)
