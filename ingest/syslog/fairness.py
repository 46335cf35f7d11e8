"""Which partition a sender's lines go to, so that a flood from one sender does not hold back the others.

Lines are keyed to a partition by sender (schemas.topics.partition_for): one sender's lines stay in order and
meet the same miner. A worker takes a partition's records in order, so every sender that shares a partition
with a flooding one waits behind the flood. Shedding the flood would lose lines an operator may need (a
device in trouble is often the one that floods), so nothing is dropped here. Instead a heavy sender keeps its
partition, and the other senders whose partition it is move to the remaining partitions until it calms down:
in the topic, the flood waits behind itself only (a worker per partition then stores the others undisturbed).

Heavy is measured over windows of WINDOW_LINES lines (all transports together), not time, so the decision is
the same on a fast or a slow machine: a sender is heavy when it sent at least 1/partitions of the window (by
itself a whole partition's share) and more than HEAVY_FACTOR times the median of the other senders; it stays
heavy until it falls under half of both. At most half the partitions are given to heavy senders (the
heaviest first), so the others always keep room.
"""

from __future__ import annotations

import bisect
import logging
import time
import zlib
from collections.abc import Iterable, Mapping

from schemas.topics import partition_for

log = logging.getLogger("netobs.ingest")

WINDOW_LINES = 10_000
HEAVY_FACTOR = 4.0
LOG_SECONDS = 10.0
"""At most one log line about heavy senders in this interval (the gauge always says how many there are)."""
PLACEMENT_CACHE = 65_536
"""Sources whose partition is remembered; spoofed UDP sources must not grow memory without bound."""


def heavy_senders(counts: Mapping[str, int], previous: Iterable[str], partitions: int) -> frozenset[str]:
    """The senders that are heavy after a window of counts (lines by sender), given those heavy before it.

    A window with fewer than two senders decides nothing: there is nobody to protect, nor to compare with.
    """
    if partitions < 2:
        return frozenset()
    was = frozenset(previous)
    if len(counts) < 2:
        return was
    total = sum(counts.values())
    ordered = sorted(counts.values())
    heavy = []
    for source, n in counts.items():
        scale = 0.5 if source in was else 1.0  # hysteresis: a heavy sender is released at half the bar
        if n >= scale * total / partitions and n > scale * HEAVY_FACTOR * _median_without(ordered, n):
            heavy.append((n, source))
    chosen: list[str] = []
    held: set[int] = set()
    for _, source in sorted(heavy, reverse=True):
        home = partition_for(source, partitions)
        if home in held or len(held) < partitions // 2:
            held.add(home)
            chosen.append(source)
    return frozenset(chosen)


def _median_without(ordered: list[int], value: int) -> float:
    """The median of a sorted list with one occurrence of value taken out (the other senders')."""
    i = bisect.bisect_left(ordered, value)
    m = len(ordered) - 1

    def at(k: int) -> int:
        return ordered[k] if k < i else ordered[k + 1]

    return float(at(m // 2)) if m % 2 else (at(m // 2 - 1) + at(m // 2)) / 2


def flood_partitions(heavy: Iterable[str], partitions: int) -> frozenset[int]:
    return frozenset(partition_for(s, partitions) for s in heavy)


def place(source: str, partitions: int, held: frozenset[int], heavy: frozenset[str]) -> int:
    """A sender's partition: its own unless a heavy sender holds it, then one of the partitions no heavy sender
    holds (the same one for as long as the heavy senders stay the same)."""
    home = partition_for(source, partitions)
    if home not in held or source in heavy:
        return home
    free = [p for p in range(partitions) if p not in held]
    return free[zlib.crc32(b"moved:" + source.encode()) % len(free)]


class SenderShare:
    """Counts lines by sender (every syslog transport of a receiver) and places senders accordingly."""

    def __init__(self, partitions: int, window: int = WINDOW_LINES) -> None:
        self.partitions = partitions
        self.window = window
        self.heavy: frozenset[str] = frozenset()
        self._held: frozenset[int] = frozenset()
        self._counts: dict[str, int] = {}
        self._total = 0
        self._placed: dict[str, tuple[int, bool]] = {}
        self._logged = -LOG_SECONDS

    def place(self, source: str, lines: int) -> tuple[int, bool]:
        """Count lines from source; the partition they go to, and whether it is not the sender's own."""
        self._counts[source] = self._counts.get(source, 0) + lines
        self._total += lines
        if self._total >= self.window:
            self._turn()
        placed = self._placed.get(source)
        if placed is None:
            if len(self._placed) >= PLACEMENT_CACHE:
                self._placed.clear()
            partition = place(source, self.partitions, self._held, self.heavy)
            placed = self._placed[source] = (partition, partition != partition_for(source, self.partitions))
        return placed

    def _turn(self) -> None:
        heavy = heavy_senders(self._counts, self.heavy, self.partitions)
        if heavy != self.heavy:
            self._log(heavy)
            self.heavy = heavy
            self._held = flood_partitions(heavy, self.partitions)
            self._placed.clear()
        self._counts.clear()
        self._total = 0

    def _log(self, heavy: frozenset[str]) -> None:
        now = time.monotonic()
        if now - self._logged < LOG_SECONDS:
            return
        self._logged = now
        held = flood_partitions(heavy, self.partitions)
        for source in sorted(heavy - self.heavy):
            log.warning(
                "syslog sender %s is heavy (%d of the last %d lines): it keeps partition %d, the other senders of "
                "that partition go to partitions %s until it calms down (changes in the next %.0fs are not logged; "
                "netobs_syslog_heavy_senders says how many there are)",
                source,
                self._counts.get(source, 0),
                self._total,
                partition_for(source, self.partitions),
                sorted(set(range(self.partitions)) - held),
                LOG_SECONDS,
            )
        for source in sorted(self.heavy - heavy):
            log.info("syslog sender %s calmed down: the senders of its partition return to it", source)
