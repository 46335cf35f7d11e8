"""Fair admission to the analysts' SQL sessions: a few per credential, turns taken round-robin.

The SQL tool has two sessions. Without this, two slow queries of one token held both and every other
caller waited for them (27 s for a SELECT 1, measured); threads blocked on the sessions also used up the
event loop's default executor that the search tools' own queries run in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import AsyncIterator


class QueueFull(Exception):
    """The key already has as many calls waiting as it may."""


class FairGate:
    """At most `capacity` holders at once and at most `per_key` with one key; when a place frees up, the key
    that waited longest since its last turn goes next, so a key queueing many calls delays others by one call.
    A key may have `waiting_per_key` calls waiting; more are refused, so waiting calls of one key cannot take up
    every concurrent call the service allows."""

    def __init__(self, capacity: int, per_key: int, waiting_per_key: int) -> None:
        self._capacity = capacity
        self._per_key = per_key
        self._waiting_per_key = waiting_per_key
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}  # insertion order is the turn order

    @contextlib.asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one place for `key` while the block runs; waits its turn first (QueueFull: too many waiting)."""
        if len(self._waiting.get(key, ())) >= self._waiting_per_key:
            raise QueueFull(key)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(turn)
        self._admit()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release(key)  # admitted in the same instant it was cancelled
            else:
                self._forget(key, turn)
            raise
        try:
            yield
        finally:
            self._release(key)

    def _admit(self) -> None:
        while sum(self._running.values()) < self._capacity:
            key = next((k for k in self._waiting if self._running[k] < self._per_key), None)
            if key is None:
                return
            queue = self._waiting.pop(key)
            turn = queue.popleft()
            if queue:
                self._waiting[key] = queue  # back of the line
            if not turn.done():  # a cancelled waiter is skipped
                self._running[key] += 1
                turn.set_result(None)

    def _release(self, key: str) -> None:
        self._running[key] -= 1
        if not self._running[key]:
            del self._running[key]
        self._admit()

    def _forget(self, key: str, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._waiting[key]
