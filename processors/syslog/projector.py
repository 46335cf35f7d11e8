"""Turns batches of raw syslog records into ClickHouse rows, exactly once per line.

Offsets are committed by Faust only after `process` returned, i.e. after the insert succeeded. After a
crash the same records come again: records at or below the highest offset stored for their partition are
skipped (the table itself is the ledger), and each insert carries a deduplication token naming its offsets.
Miner state is kept per partition in ClickHouse (processor_state), so it survives restarts and follows a
partition to whichever worker takes it. The miners themselves run where Mining puts them (parse_pool.py):
this class decides what is mined and stored, and is the only one that talks to ClickHouse.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from processors import clickhouse_writer
from processors.projector import Record, cut_by_bytes
from processors.syslog.batch import Work
from processors.syslog.parse_pool import Mining, ParseProcessLost, mining
from schemas.tables import SYSLOG

log = logging.getLogger(__name__)


@dataclass
class PartitionState:
    """What the projector knows of one partition it owns (its miner lives in Mining)."""

    mined_offset: int
    """Highest offset the miner has seen."""
    stored_offset: int
    """Highest offset whose rows are in ClickHouse."""
    saved_offset: int
    """Offset of the last saved miner snapshot."""


CHUNK_BYTES = 4 << 20
"""Raw record bytes mined and inserted at a time (at most; about 30,000 lines): a batch of a backlog (up to
batch_records records of up to syslog.batch_lines lines each) goes in piece by piece, so memory stays
bounded, rows become queryable sooner, and parse processes mine a piece while the one before is inserted."""


@dataclass
class _Chunk:
    """Part of a batch: the records to mine, and the offsets they take each partition to."""

    work: list[Work] = field(default_factory=list)
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Stored offsets per partition, lowest and highest: the insert's deduplication token."""
    touched: dict[int, int] = field(default_factory=dict)
    """Highest offset mined per partition."""


class SyslogProjector:
    """Owns the partitions this worker holds and their miners; one insert per batch of records.

    parse_processes: 0 mines in this process, N in N parse processes (started on first use)."""

    def __init__(
        self, client: Any, database: str, topic: str, snapshot_seconds: float, parse_processes: int = 0
    ) -> None:
        self._client = client
        self._db = database
        self._topic = topic
        self._snapshot_seconds = snapshot_seconds
        self._partitions: dict[int, PartitionState] = {}
        self._lock = threading.Lock()
        self._last_snapshot = time.monotonic()
        self._types = clickhouse_writer.column_types(client, database, SYSLOG)
        self._parse_processes = parse_processes
        self._mining: Mining = mining(parse_processes, self._types)
        self.rows_stored = 0
        self.records_skipped = 0

    def process(self, records: Sequence[Record]) -> int:
        """Parse, mine and store a batch; returns the number of rows inserted. Raises if the insert fails, or
        a parse process was lost (its partitions then restart from their snapshots on the retry)."""
        with self._lock:
            try:
                return self._process(records)
            except ParseProcessLost as lost:
                for partition in lost.partitions:
                    self._partitions.pop(partition, None)
                raise

    def _process(self, records: Sequence[Record]) -> int:
        chunks = self._chunks(records)
        stored = 0
        if chunks:
            self._mining.start(chunks[0].work)
        for i, chunk in enumerate(chunks):
            mined = self._mining.finish()
            more = i + 1 < len(chunks)
            if more:  # the parse processes mine the next chunk while this one is inserted
                self._mining.start(chunks[i + 1].work)
            try:
                clickhouse_writer.insert_patterns(self._client, self._db, mined.changes)
                clickhouse_writer.insert_native(
                    self._client,
                    self._db,
                    SYSLOG,
                    self._types,
                    mined.payload,
                    mined.rows,
                    clickhouse_writer.dedup_token(self._topic, chunk.ranges),
                )
            except BaseException:
                if more:  # read the next chunk's replies, so that every pipe stays in step
                    self._mining.finish()
                raise
            for partition, offset in chunk.touched.items():
                state = self._partitions[partition]
                state.mined_offset = offset
                state.stored_offset = max(state.stored_offset, offset)
            self.rows_stored += mined.rows
            stored += mined.rows
        if time.monotonic() - self._last_snapshot >= self._snapshot_seconds:
            self._save(self._partitions)
        return stored

    def _chunks(self, records: Sequence[Record]) -> list[_Chunk]:
        """records cut in chunks of at most CHUNK_BYTES (cut_by_bytes), each with what to mine and store: the
        states of every partition are loaded here, before any chunk is handed to the miners."""
        chunks: list[_Chunk] = []
        for part in cut_by_bytes(records, CHUNK_BYTES):
            chunk = _Chunk()
            for record in part:
                partition, offset = record[0], record[1]
                state = self._state(partition)
                if offset <= state.mined_offset:
                    self.records_skipped += 1
                    continue
                chunk.touched[partition] = offset
                store = offset > state.stored_offset
                chunk.work.append((record, store))
                if store:
                    low, _ = chunk.ranges.get(partition, (offset, offset))
                    chunk.ranges[partition] = (low, offset)
                else:
                    self.records_skipped += 1
            if chunk.work:
                chunks.append(chunk)
        return chunks

    def stored_offsets(self) -> dict[int, int]:
        """Highest stored offset per partition this worker holds."""
        with self._lock:
            return {p: s.stored_offset for p, s in self._partitions.items()}

    def parse_memory(self) -> dict[int, int]:
        """Resident bytes of each parse process, by index (none when parsing in this process)."""
        return self._mining.memory()

    def release(self, partitions: Iterable[int]) -> None:
        """Save and forget partitions this worker no longer owns (rebalance or shutdown)."""
        with self._lock:
            gone = {p: self._partitions.pop(p) for p in list(partitions) if p in self._partitions}
            try:
                self._save(gone)
            finally:
                self._mining.drop(gone)

    def release_all(self) -> None:
        """Save every miner and stop the parse processes; called on shutdown (they start again if needed)."""
        self.release(list(self._partitions))
        with self._lock:
            self._mining.close()
            self._mining = mining(self._parse_processes, self._types)

    def _state(self, partition: int) -> PartitionState:
        state = self._partitions.get(partition)
        if state is None:
            stored = clickhouse_writer.stored_high_offsets(self._client, self._db).get(partition, -1)
            saved = clickhouse_writer.load_state(self._client, self._db, self._topic, partition)
            offset, blob = saved if saved is not None else (-1, None)
            clusters = self._mining.load(partition, blob)
            if blob is not None:
                log.info(
                    "partition %d: miner restored at offset %d (%d clusters); stored up to %d",
                    partition,
                    offset,
                    clusters,
                    stored,
                )
            else:
                log.info("partition %d: new miner; stored up to %d", partition, stored)
            state = PartitionState(mined_offset=offset, stored_offset=stored, saved_offset=offset)
            self._partitions[partition] = state
        return state

    def _save(self, partitions: dict[int, PartitionState]) -> None:
        due = [p for p, state in partitions.items() if state.mined_offset > state.saved_offset]
        for partition, snapshot in self._mining.snapshots(due).items():
            state = partitions[partition]
            clickhouse_writer.save_state(self._client, self._db, self._topic, partition, state.mined_offset, snapshot)
            state.saved_offset = state.mined_offset
        self._last_snapshot = time.monotonic()
