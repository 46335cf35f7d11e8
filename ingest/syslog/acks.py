"""Which Kafka records carry a receiver's lines, so it can learn when the broker has them all.

A receiver that answers its sender (RELP) adds a run of lines and gets a future; the batcher cuts the
lines into records in the order they were added, partition by partition, so counting lines added and
lines cut per partition tells which records carry a run. The future is done when every such record is
acknowledged, and fails with the first error if any is not.
"""

from __future__ import annotations

import asyncio
import collections

from ingest.kafka_producer import BoundedProducer
from ingest.syslog.batcher import Batcher
from schemas.raw_syslog import RawBatch


class _Run:
    """Lines [start, end) of one partition, in the order they were added."""

    __slots__ = ("end", "error", "future", "records", "start", "whole")

    def __init__(self, future: asyncio.Future[None], start: int, end: int) -> None:
        self.future = future
        self.start = start
        self.end = end
        self.records = 0
        """Records carrying some of these lines and not yet settled."""
        self.error: BaseException | None = None
        self.whole = False
        """Every line is in a record handed to the producer."""


class DeliveryAcks:
    """A batcher and the producer it feeds, with a future per run of lines added."""

    def __init__(self, batcher: Batcher, producer: BoundedProducer) -> None:
        self.batcher = batcher
        self._producer = producer
        self._added = [0] * batcher.partitions
        self._cut = [0] * batcher.partitions
        self._uncut: list[collections.deque[_Run]] = [collections.deque() for _ in range(batcher.partitions)]

    def add(self, source: str, received_ns: list[int], lines: list[bytes]) -> asyncio.Future[None]:
        """Add lines from one source; the future is done once the broker acknowledged all of them."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not lines:
            future.set_result(None)
            return future
        partition = self.batcher.place(source, len(lines))
        start = self._added[partition]
        self._added[partition] += len(lines)
        self._uncut[partition].append(_Run(future, start, self._added[partition]))
        for record_partition, batch in self.batcher.add(source, received_ns, lines, partition=partition):
            self.offer(record_partition, batch)
        return future

    def flush(self) -> None:
        """Send everything pending now: a sender waiting for answers sends nothing more until it has them."""
        for partition, batch in self.batcher.drain():
            self.offer(partition, batch)

    def offer(self, partition: int, batch: RawBatch) -> None:
        """Hand a record cut by the batcher to the producer, tied to the runs whose lines it carries."""
        start = self._cut[partition]
        end = self._cut[partition] = start + len(batch)
        uncut = self._uncut[partition]
        carried: list[_Run] = []
        for run in uncut:
            if run.start >= end:
                break
            run.records += 1
            carried.append(run)
        while uncut and uncut[0].end <= end:
            uncut.popleft().whole = True
        self._producer.offer(partition, batch, force=True, settled=lambda error: self._settled(carried, error))

    def _settled(self, carried: list[_Run], error: BaseException | None) -> None:
        for run in carried:
            run.records -= 1
            if error is not None and run.error is None:
                run.error = error
            if run.records == 0 and run.whole and not run.future.done():
                if run.error is None:
                    run.future.set_result(None)
                else:
                    run.future.set_exception(run.error)
