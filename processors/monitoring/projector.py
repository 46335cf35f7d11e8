"""Poll results -> polling and node states, their events, and the tables that project them.

One StateMachine per partition of the poll topic (partitioned by node id, so a node's pollings meet in
one machine). A batch is handled in three steps, in this order, so nothing is lost at any crash:

1. prepare: apply the records to the machines and build the rows and events (no writes);
2. the caller publishes the events to the events topic and waits until the broker has them;
3. commit: insert the rows, then save each touched machine in processor_state at the batch's last offset.

Faust commits the poll offsets only after commit returned, so the saved machine is never older than the
committed offset: a worker that takes the partition restores it and goes on from exactly there. Work
redone after a crash writes the same rows again (states and aggregates replace themselves; polling_log
keeps its own offset ledger) and republishes events with the same ids, which the event_log projection
drops. Nothing here reads the clock, so replaying the topic from the start rebuilds identical tables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from processors import clickhouse_writer
from processors.monitoring import poll_rows
from processors.monitoring.state_machine import StateMachine
from processors.monitoring.thresholds import evaluate
from processors.projector import Record, Row
from processors.tables.event_rows import undecodable_event
from processors.tables.projector import widen_range
from schemas import polls
from schemas.events import Event
from schemas.polls import PollResult
from schemas.tables import CERTIFICATES, IP_ADDRESS, NODE_STATE, POLLING_LOG, POLLING_STATE
from schemas.topics import POLL_RESULTS

log = logging.getLogger(__name__)

TABLES = (POLLING_LOG, POLLING_STATE, NODE_STATE, IP_ADDRESS, CERTIFICATES)
SAVED_VERSION = 1


class _Saved(msgspec.Struct, array_like=True):
    """What processor_state keeps for a poll-topic partition: the machine and the partition's watermark."""

    version: int
    watermark_ns: int
    machine: bytes


@dataclass
class PartitionState:
    """The machine of one partition and where it stands in the topic."""

    machine: StateMachine
    watermark_ns: int
    """Newest result time applied so far: the version of the state rows (never goes back)."""
    applied_offset: int
    """Highest offset applied to the machine."""
    logged_offset: int
    """Highest offset whose polling_log rows are stored."""


@dataclass
class Pending:
    """A prepared batch: events to publish, then rows to insert and machines to save."""

    events: list[Event] = field(default_factory=list)
    rows: dict[str, list[Row]] = field(default_factory=lambda: {table: [] for table in TABLES})
    log_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Offsets applied per partition; the last one is where each machine is saved."""


class StateProjector:
    """Owns the state machines of the poll-topic partitions this worker holds."""

    def __init__(self, client: Any, database: str) -> None:
        self._client = client
        self._db = database
        self._partitions: dict[int, PartitionState] = {}
        self._lock = threading.Lock()
        self.rows_stored = 0
        self.results_applied = 0
        self.records_skipped = 0
        self.records_undecodable = 0
        self.results_rejected = 0

    def prepare(self, records: Sequence[Record]) -> Pending:
        """Apply a batch to the machines; returns what to publish and store. Writes nothing.

        If anything fails half way, the partitions of the batch are forgotten, so a retry restores them
        from their last save (taken at the last committed offset) and applies the batch again whole.
        """
        with self._lock:
            for partition in sorted({r[0] for r in records}):
                self._state(partition)
            try:
                return self._apply(records)
            except Exception:
                for partition in {r[0] for r in records}:
                    self._partitions.pop(partition, None)
                raise

    def commit(self, pending: Pending) -> int:
        """Insert the rows of a prepared batch and save its machines; returns the rows inserted.

        Raises if an insert fails; calling it again with the same pending batch is safe.
        """
        with self._lock:
            rows = pending.rows
            for table in TABLES:
                ranges = pending.log_ranges if table == POLLING_LOG else pending.ranges
                clickhouse_writer.insert_rows(
                    self._client, self._db, table, rows[table], clickhouse_writer.dedup_token(POLL_RESULTS, ranges)
                )
            for partition, (_, high) in pending.log_ranges.items():
                state = self._partitions.get(partition)
                if state is not None:
                    state.logged_offset = max(state.logged_offset, high)
            for partition, (_, high) in pending.ranges.items():
                state = self._partitions.get(partition)
                # A partition revoked (and perhaps taken again) since prepare is not this batch's to save.
                if state is not None and state.applied_offset == high:
                    saved = _Saved(SAVED_VERSION, state.watermark_ns, state.machine.snapshot())
                    clickhouse_writer.save_state(
                        self._client, self._db, POLL_RESULTS, partition, high, msgspec.msgpack.encode(saved)
                    )
            count = sum(len(r) for r in rows.values())
            self.rows_stored += count
            return count

    def stored_offsets(self) -> dict[int, int]:
        """Highest offset applied per partition this worker holds."""
        with self._lock:
            return {p: s.applied_offset for p, s in self._partitions.items()}

    def release(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns; every commit saved them already."""
        with self._lock:
            for partition in partitions:
                self._partitions.pop(partition, None)

    def release_all(self) -> None:
        """Forget every partition (shutdown)."""
        self.release(list(self._partitions))

    def _apply(self, records: Sequence[Record]) -> Pending:
        pending = Pending()
        rows = pending.rows
        last: dict[str, tuple[int, PollResult, int]] = {}
        """Per polling touched: (partition, its newest result, watermark then)."""
        nodes: dict[str, tuple[int, int]] = {}
        """Per node touched: (partition, watermark then)."""
        current: dict[int, dict[str, str]] = {}
        for partition, offset, record_ns, value in records:
            state = self._partitions[partition]
            if offset <= state.applied_offset:
                self.records_skipped += 1
                continue
            widen_range(pending.ranges, partition, offset)
            state.applied_offset = offset
            try:
                batch = polls.decode(value)
            except ValueError:
                self.records_undecodable += 1
                log.warning("%s partition %d offset %d: undecodable record skipped", POLL_RESULTS, partition, offset)
                pending.events.append(undecodable_event(POLL_RESULTS, partition, offset, record_ns))
                continue
            if partition not in current:
                current[partition] = {pid: s.state for pid, s in state.machine.polling_states().items()}
            states = current[partition]
            to_log = offset > state.logged_offset
            for seq, result in enumerate(batch.results):
                try:
                    events = state.machine.apply(result)
                except Exception:
                    self.results_rejected += 1
                    log.exception("%s partition %d offset %d: result %d rejected", POLL_RESULTS, partition, offset, seq)
                    continue
                self.results_applied += 1
                pid = result.polling_id
                state.watermark_ns = max(state.watermark_ns, result.time_ns)
                for e in events:
                    if e.type == "polling":
                        states[pid] = e.level
                polling_state = states.setdefault(pid, "unknown")
                pending.events.extend(events)
                if to_log and (result.logging or events):
                    rows[POLLING_LOG].append(
                        poll_rows.log_row(result, polling_state, evaluate(result)[1], partition, offset, seq)
                    )
                    widen_range(pending.log_ranges, partition, offset)
                last[pid] = (partition, result, state.watermark_ns)
                nodes[result.node_id] = (partition, state.watermark_ns)
                for e in events:
                    if e.type == "node":
                        nodes[e.node_id] = (partition, state.watermark_ns)
                rows[IP_ADDRESS].extend(poll_rows.arp_rows(result))
                certificate = poll_rows.certificate_row(result)
                if certificate is not None:
                    rows[CERTIFICATES].append(certificate)
            for removal in batch.removals:
                if removal.kind == "node":
                    state.machine.remove_node(removal.id)
                    continue
                events = state.machine.remove_polling(removal.id, removal.time_ns)
                states.pop(removal.id, None)
                last.pop(removal.id, None)
                pending.events.extend(events)
                state.watermark_ns = max(state.watermark_ns, removal.time_ns)
                nodes[removal.node_id] = (partition, state.watermark_ns)
        self._state_rows(pending, last, nodes)
        return pending

    def _state_rows(
        self, pending: Pending, last: dict[str, tuple[int, PollResult, int]], nodes: dict[str, tuple[int, int]]
    ) -> None:
        touched = {p for p, _, _ in last.values()} | {p for p, _ in nodes.values()}
        polling_states = {p: self._partitions[p].machine.polling_states() for p in touched}
        node_states = {p: self._partitions[p].machine.node_states() for p in touched}
        for pid, (partition, result, version) in last.items():
            ps = polling_states[partition].get(pid)
            if ps is not None:
                pending.rows[POLLING_STATE].append(poll_rows.polling_state_row(pid, ps, result, version))
        for node_id, (partition, version) in nodes.items():
            ns = node_states[partition].get(node_id)
            if ns is not None:
                pending.rows[NODE_STATE].append(poll_rows.node_state_row(node_id, ns, version))

    def _state(self, partition: int) -> PartitionState:
        state = self._partitions.get(partition)
        if state is not None:
            return state
        logged = clickhouse_writer.high_offsets(self._client, self._db, POLLING_LOG).get(partition, -1)
        saved = clickhouse_writer.load_state(self._client, self._db, POLL_RESULTS, partition)
        if saved is None:
            state = PartitionState(StateMachine(), 0, -1, logged)
            log.info("poll partition %d: new state machine; polling_log up to offset %d", partition, logged)
        else:
            offset, blob = saved
            kept = msgspec.msgpack.decode(blob, type=_Saved)
            if kept.version != SAVED_VERSION:
                raise ValueError(f"poll partition {partition}: saved state v{kept.version}, expected v{SAVED_VERSION}")
            state = PartitionState(StateMachine.restore(kept.machine), kept.watermark_ns, offset, logged)
            log.info("poll partition %d: state restored at offset %d; polling_log up to %d", partition, offset, logged)
        self._partitions[partition] = state
        return state
