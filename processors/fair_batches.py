"""Records fetched and not yet stored, held in a queue per partition and taken in fair batches.

One worker holds every partition of a single node, and Faust hands an agent one queue for all of them: a
sender flooding one partition put its records ahead of every other partition's, so the others' lines waited
for the flood's (issue finding 9). Here an agent drains Faust's queue into a queue per partition; a batch
takes at most one share from each partition with something waiting, and a partition holding more than its bound
stops being fetched, so its backlog waits in the broker. A share is what the last batch's pace stores in one
batch window (next_share): while one partition floods, a batch takes about a window of it, and a record newly
arrived in another partition waits for about two such batches, not for a whole backlog. When every partition is
busy a batch holds a window of each, big enough for the projector to mine one chunk while it inserts another.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

MIN_SHARE = 256 * 1024
"""Bytes a batch may always take of a partition: below it an insert's fixed cost would outweigh its rows."""


class FairBuffer(Generic[T]):
    """Items (records) by partition in arrival order, with the bound past which a partition is paused."""

    def __init__(self, hold_records: int, hold_bytes: int) -> None:
        self.hold_records = hold_records
        self.hold_bytes = hold_bytes
        self._queues: dict[int, deque[tuple[T, int]]] = {}
        self._bytes: dict[int, int] = {}
        self._first = 0
        """Rotates the partition served first, so a batch cut by its record count favours none."""

    @property
    def records(self) -> int:
        return sum(len(q) for q in self._queues.values())

    @property
    def size(self) -> int:
        """Bytes held, all partitions."""
        return sum(self._bytes.values())

    def put(self, partition: int, item: T, size: int) -> bool:
        """Hold item of size bytes; True when its partition is now at its bound (stop fetching it)."""
        self._queues.setdefault(partition, deque()).append((item, size))
        self._bytes[partition] = self._bytes.get(partition, 0) + size
        return self.full(partition)

    def full(self, partition: int) -> bool:
        return (
            len(self._queues.get(partition, ())) >= self.hold_records
            or self._bytes.get(partition, 0) >= self.hold_bytes
        )

    def below_half(self, partition: int) -> bool:
        """Under half its bound: a paused partition is fetched again (not at once under it, so it does not
        flap at the bound)."""
        return (
            len(self._queues.get(partition, ())) < max(1, self.hold_records // 2)
            and self._bytes.get(partition, 0) < self.hold_bytes // 2
        )

    def take(self, max_records: int, share: int, max_bytes: int) -> list[T]:
        """At most max_records items, and from each partition holding some at most share bytes (or max_bytes
        split evenly among them, if less): whole items in order, at least one each (a record bigger than a share
        still goes). What a quiet partition leaves of its share is not given to a busy one, so a batch taken while
        one partition floods stays about one share of it."""
        waiting = sorted(p for p, q in self._queues.items() if q)
        if not waiting:
            return []
        start = next((i for i, p in enumerate(waiting) if p >= self._first), 0)
        turn = waiting[start:] + waiting[:start]
        self._first = turn[0] + 1
        share = max(1, min(share, max_bytes // len(turn)))
        taken: list[T] = []
        for partition in turn:
            queue = self._queues[partition]
            got = 0
            while queue and got < share and len(taken) < max_records:
                item, size = queue.popleft()
                taken.append(item)
                got += size
            self._bytes[partition] -= got
        return taken

    def drop(self, partitions: set[int]) -> int:
        """Forget what is held of partitions this worker no longer owns (their records are fetched again by
        whoever gets them, from the committed offset); returns how many items were dropped."""
        dropped = 0
        for partition in partitions:
            dropped += len(self._queues.pop(partition, ()))
            self._bytes.pop(partition, None)
        return dropped


def next_share(stored_bytes: int, seconds: float, window: float, ceiling: int) -> int:
    """Bytes the next batch may take of each partition: what the last batch's pace stores in one window, between
    MIN_SHARE and ceiling. Under load the flood's part of a batch then takes about a window to store whatever its
    lines cost (clean lines or garbage that mines ten times slower), which bounds how long a record newly arrived
    in another partition waits."""
    if seconds <= 0:
        return ceiling
    return int(min(ceiling, max(MIN_SHARE, stored_bytes / seconds * window)))
