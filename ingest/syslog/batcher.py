"""Gathers received lines per Kafka partition and cuts them into RawBatch records.

One record per many lines keeps the per-line cost low downstream. Lines are added in runs from one
source (a UDP hand-off, a TCP read), so the work per line is done by list operations in C.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import time

from ingest.syslog.fairness import SenderShare
from schemas.raw_syslog import WIRE_VERSION, RawBatch
from schemas.topics import partition_for

BATCH_BYTES = 1_000_000
"""Upper bound of one record, below Kafka's default message.max.bytes (1 MiB) with room for headers."""
LINE_OVERHEAD = 64
"""Bytes a line adds to a record besides its text (time, source, flag, msgpack headers), rounded up."""
PARTITION_CACHE = 65_536
"""Sources whose partition is remembered; spoofed UDP sources must not grow memory without bound."""


class _Pending:
    """The columns waiting for one partition."""

    __slots__ = ("bytes", "flags", "lines", "received_ns", "since", "sources")

    def __init__(self) -> None:
        self.received_ns: list[int] = []
        self.sources: list[str] = []
        self.lines: list[bytes] = []
        self.flags: list[int] = []
        self.bytes = 0
        self.since = 0.0
        """Monotonic time the oldest pending line was added."""


class Batcher:
    """Per-partition pending lines of one transport; cut at batch_lines, batch_bytes or batch_ms."""

    def __init__(
        self,
        transport: str,
        partitions: int,
        batch_lines: int,
        batch_ms: int,
        batch_bytes: int = BATCH_BYTES,
        share: SenderShare | None = None,
    ) -> None:
        self.transport = transport
        self.partitions = partitions
        self.batch_lines = batch_lines
        self.batch_seconds = batch_ms / 1000
        self.batch_bytes = batch_bytes
        self.share = share
        """Shared by a receiver's transports: where senders go while one floods (ingest.syslog.fairness)."""
        self.moved = 0
        """Lines placed away from their sender's partition because a heavy sender holds it."""
        self._pending = [_Pending() for _ in range(partitions)]
        self._partition_of: dict[str, int] = {}

    @property
    def pending_lines(self) -> int:
        return sum(len(p.lines) for p in self._pending)

    def place(self, source: str, lines: int) -> int:
        """The partition for lines from source: through the share when there is one (it counts them), else
        partition_for(source), remembered."""
        if self.share is not None:
            partition, moved = self.share.place(source, lines)
            if moved:
                self.moved += lines
            return partition
        known = self._partition_of.get(source)
        if known is None:
            if len(self._partition_of) >= PARTITION_CACHE:
                self._partition_of.clear()
            known = self._partition_of[source] = partition_for(source, self.partitions)
        return known

    def add(
        self,
        source: str,
        received_ns: list[int],
        lines: list[bytes],
        flags: list[int] | None = None,
        now: float | None = None,
        partition: int | None = None,
    ) -> list[tuple[int, RawBatch]]:
        """Add lines from one source (flags None means all zero); return the records now full. partition: where
        place() put them already."""
        if not lines:
            return []
        if partition is None:
            partition = self.place(source, len(lines))
        pending = self._pending[partition]
        if not pending.lines:
            pending.since = time.monotonic() if now is None else now
        pending.received_ns += received_ns
        pending.sources += [source] * len(lines)
        pending.lines += lines
        pending.flags += [0] * len(lines) if flags is None else flags
        pending.bytes += sum(map(len, lines)) + LINE_OVERHEAD * len(lines)
        if len(pending.lines) < self.batch_lines and pending.bytes < self.batch_bytes:
            return []
        return self._cut(partition, keep_tail=True)

    def expired(self, now: float | None = None) -> list[tuple[int, RawBatch]]:
        """Records of the partitions whose oldest line has waited batch_ms."""
        now = time.monotonic() if now is None else now
        out: list[tuple[int, RawBatch]] = []
        for partition, pending in enumerate(self._pending):
            if pending.lines and now - pending.since >= self.batch_seconds:
                out += self._cut(partition, keep_tail=False)
        return out

    def drain(self) -> list[tuple[int, RawBatch]]:
        """Everything pending, as records (at shutdown)."""
        out: list[tuple[int, RawBatch]] = []
        for partition, pending in enumerate(self._pending):
            if pending.lines:
                out += self._cut(partition, keep_tail=False)
        return out

    def _cut(self, partition: int, keep_tail: bool) -> list[tuple[int, RawBatch]]:
        """Cut records within both limits; with keep_tail a last, not yet full record stays pending."""
        pending = self._pending[partition]
        ends = self._ends(pending.lines)
        if keep_tail:
            tail = pending.lines[ends[-2] if len(ends) > 1 else 0 :]
            if len(tail) < self.batch_lines and self._bytes(tail) < self.batch_bytes:
                ends.pop()
        out: list[tuple[int, RawBatch]] = []
        start = 0
        for end in ends:
            batch = RawBatch(
                version=WIRE_VERSION,
                transport=self.transport,
                received_ns=pending.received_ns[start:end],
                sources=pending.sources[start:end],
                lines=pending.lines[start:end],
                flags=pending.flags[start:end],
            )
            out.append((partition, batch))
            start = end
        del pending.received_ns[:start], pending.sources[:start], pending.lines[:start], pending.flags[:start]
        pending.bytes = self._bytes(pending.lines)
        return out

    def _ends(self, lines: list[bytes]) -> list[int]:
        """End indexes of consecutive records of at most batch_lines lines and batch_bytes (one line at least)."""
        n = len(lines)
        if self._bytes(lines) <= self.batch_bytes:
            return [*range(self.batch_lines, n, self.batch_lines), n]
        sizes = map(operator.add, map(len, lines), itertools.repeat(LINE_OVERHEAD))
        cumulative = list(itertools.accumulate(sizes))
        ends: list[int] = []
        start, before = 0, 0
        while start < n:
            by_bytes = bisect.bisect_right(cumulative, before + self.batch_bytes, lo=start)
            end = max(start + 1, min(start + self.batch_lines, by_bytes))
            ends.append(end)
            start, before = end, cumulative[end - 1]
        return ends

    @staticmethod
    def _bytes(lines: list[bytes]) -> int:
        return sum(map(len, lines)) + LINE_OVERHEAD * len(lines)
