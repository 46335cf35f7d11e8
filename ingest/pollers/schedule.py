"""The poll schedule: a projection of inventory events onto due times. Pure: the caller passes the time.

A polling runs in slots k * interval + offset (seconds since the epoch). The offset comes from a hash of
the polling id, spread over `jitter` of the interval, so the load is spread, and a restarted poller (or
another one) puts every polling in the same slot as before. The next slot of a polling is fixed when it is
taken, whatever its run takes, so a polling that runs long delays nobody; the caller skips a slot whose
previous run is still going.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from dataclasses import dataclass

from schemas.inventory import InventoryEvent, Node, Polling

MIN_INTERVAL_S = 1
"""Shorter intervals (0 or less) in an event are taken as this, so a bad definition cannot spin."""


@dataclass(frozen=True)
class Run:
    """A polling to run now, with its node as the inventory last defined both, and the slot it is for."""

    polling: Polling
    node: Node
    due: float


def phase(polling_id: str) -> float:
    """A fraction in [0, 1) fixed by the id (the same in every process: not Python's salted hash)."""
    digest = hashlib.blake2b(polling_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def offset(polling_id: str, interval: float, jitter: float) -> float:
    """Seconds into each interval at which the polling's slots fall."""
    return phase(polling_id) * jitter * interval


def first_slot(at_or_after: float, interval: float, slot_offset: float) -> float:
    """The earliest slot k * interval + slot_offset that is not before `at_or_after`."""
    return math.ceil((at_or_after - slot_offset) / interval) * interval + slot_offset


def slot_after(after: float, interval: float, slot_offset: float) -> float:
    """The earliest slot strictly after `after`."""
    return (math.floor((after - slot_offset) / interval) + 1) * interval + slot_offset


def interval_of(polling: Polling) -> int:
    return max(polling.interval_s, MIN_INTERVAL_S)


class Schedule:
    """Nodes and pollings by id, and when each polling is due next."""

    def __init__(self, jitter: float) -> None:
        self.jitter = jitter
        self.nodes: dict[str, Node] = {}
        self.pollings: dict[str, Polling] = {}
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        """(due, polling id); entries whose due no longer matches _due are stale and skipped."""

    def __len__(self) -> int:
        return len(self.pollings)

    def apply(self, event: InventoryEvent, now: float) -> None:
        """Upsert or delete a node or polling; networks do not concern the poller.

        A new polling, or one whose interval changed, is due at its first slot from now; other changes
        (params, thresholds, name) keep its slot.
        """
        if event.kind == "node":
            if event.op == "delete":
                self.nodes.pop(event.id, None)
            elif event.node is not None:
                self.nodes[event.id] = event.node
        elif event.kind == "polling":
            if event.op == "delete":
                self.pollings.pop(event.id, None)
                self._due.pop(event.id, None)
            elif event.polling is not None:
                self._upsert(event.polling, now)

    def _upsert(self, polling: Polling, now: float) -> None:
        old = self.pollings.get(polling.id)
        self.pollings[polling.id] = polling
        if old is not None and interval_of(old) == interval_of(polling) and polling.id in self._due:
            return
        interval = interval_of(polling)
        due = first_slot(now, interval, offset(polling.id, interval, self.jitter))
        self._due[polling.id] = due
        heapq.heappush(self._heap, (due, polling.id))

    def next_due(self) -> float | None:
        """When the earliest polling is due; None when there is none."""
        while self._heap:
            due, polling_id = self._heap[0]
            if self._due.get(polling_id) == due:
                return due
            heapq.heappop(self._heap)
        return None

    def due_of(self, polling_id: str) -> float | None:
        return self._due.get(polling_id)

    def take_due(self, now: float) -> tuple[list[Run], list[Polling]]:
        """(runs due by now, pollings due whose node is unknown), each moved on to its next slot after now.

        Slots missed entirely (the caller was held up for more than an interval) are not made up: a run
        is due for its oldest missed slot, which shows how late it is, and the next one comes after now.
        """
        runs: list[Run] = []
        orphans: list[Polling] = []
        while (due := self.next_due()) is not None and due <= now:
            _, polling_id = heapq.heappop(self._heap)
            polling = self.pollings[polling_id]
            interval = interval_of(polling)
            following = slot_after(now, interval, offset(polling_id, interval, self.jitter))
            self._due[polling_id] = following
            heapq.heappush(self._heap, (following, polling_id))
            node = self.nodes.get(polling.node_id)
            if node is None:
                orphans.append(polling)
            else:
                runs.append(Run(polling, node, due))
        return runs, orphans
