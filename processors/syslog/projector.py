"""Turns batches of raw syslog records into ClickHouse rows, exactly once per line.

Offsets are committed by Faust only after `process` returned, i.e. after the insert succeeded. After a
crash the same records come again: records at or below the highest offset stored for their partition are
skipped (the table itself is the ledger), and each insert carries a deduplication token naming its offsets.
Miner state is kept per partition in ClickHouse (processor_state), so it survives restarts and follows a
partition to whichever worker takes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from processors import clickhouse_writer
from processors.projector import Record
from processors.syslog.miner import Miner, PatternChange
from processors.syslog.rows import Columns, record_columns
from schemas.tables import SYSLOG, SYSLOG_COLUMNS

log = logging.getLogger(__name__)


@dataclass
class PartitionState:
    """What the projector knows of one partition it owns."""

    miner: Miner
    mined_offset: int
    """Highest offset the miner has seen."""
    stored_offset: int
    """Highest offset whose rows are in ClickHouse."""
    saved_offset: int
    """Offset of the last saved miner snapshot."""


class SyslogProjector:
    """Owns the miners of the partitions this worker holds; one insert per batch of records."""

    def __init__(self, client: Any, database: str, topic: str, snapshot_seconds: float) -> None:
        self._client = client
        self._db = database
        self._topic = topic
        self._snapshot_seconds = snapshot_seconds
        self._partitions: dict[int, PartitionState] = {}
        self._lock = threading.Lock()
        self._last_snapshot = time.monotonic()
        self.rows_stored = 0
        self.records_skipped = 0

    def process(self, records: Sequence[Record]) -> int:
        """Parse, mine and store a batch; returns the number of rows inserted. Raises if the insert fails."""
        with self._lock:
            rows: Columns = {name: [] for name in SYSLOG_COLUMNS}
            ranges: dict[int, tuple[int, int]] = {}
            touched: dict[int, int] = {}
            changes: list[tuple[PatternChange, int]] = []
            for partition, offset, record_ns, value in records:
                state = self._state(partition)
                if offset <= state.mined_offset:
                    self.records_skipped += 1
                    continue
                built = record_columns(value, partition, offset, record_ns, state.miner)
                changes.extend((change, record_ns // 1000) for change in state.miner.changes())
                touched[partition] = offset
                if offset <= state.stored_offset:
                    self.records_skipped += 1
                    continue
                for name, values in built.items():
                    rows[name].extend(values)
                low, _ = ranges.get(partition, (offset, offset))
                ranges[partition] = (low, offset)
            clickhouse_writer.insert_patterns(self._client, self._db, changes)
            clickhouse_writer.insert_columns(
                self._client, self._db, SYSLOG, rows, clickhouse_writer.dedup_token(self._topic, ranges)
            )
            for partition, offset in touched.items():
                state = self._partitions[partition]
                state.mined_offset = offset
                state.stored_offset = max(state.stored_offset, offset)
            count = len(rows["kafka_offset"])
            self.rows_stored += count
            if time.monotonic() - self._last_snapshot >= self._snapshot_seconds:
                self._save(self._partitions)
            return count

    def stored_offsets(self) -> dict[int, int]:
        """Highest stored offset per partition this worker holds."""
        with self._lock:
            return {p: s.stored_offset for p, s in self._partitions.items()}

    def release(self, partitions: Iterable[int]) -> None:
        """Save and forget partitions this worker no longer owns (rebalance or shutdown)."""
        with self._lock:
            gone = {p: self._partitions.pop(p) for p in list(partitions) if p in self._partitions}
            self._save(gone)

    def release_all(self) -> None:
        """Save every miner; called on shutdown."""
        self.release(list(self._partitions))

    def _state(self, partition: int) -> PartitionState:
        state = self._partitions.get(partition)
        if state is None:
            stored = clickhouse_writer.stored_high_offsets(self._client, self._db).get(partition, -1)
            saved = clickhouse_writer.load_state(self._client, self._db, self._topic, partition)
            if saved is not None:
                offset, blob = saved
                miner = Miner.restore(blob)
                log.info(
                    "partition %d: miner restored at offset %d (%d clusters); stored up to %d",
                    partition,
                    offset,
                    len(miner),
                    stored,
                )
            else:
                offset, miner = -1, Miner()
                log.info("partition %d: new miner; stored up to %d", partition, stored)
            state = PartitionState(miner=miner, mined_offset=offset, stored_offset=stored, saved_offset=offset)
            self._partitions[partition] = state
        return state

    def _save(self, partitions: dict[int, PartitionState]) -> None:
        for partition, state in partitions.items():
            if state.mined_offset > state.saved_offset:
                clickhouse_writer.save_state(
                    self._client, self._db, self._topic, partition, state.mined_offset, state.miner.snapshot()
                )
                state.saved_offset = state.mined_offset
        self._last_snapshot = time.monotonic()
