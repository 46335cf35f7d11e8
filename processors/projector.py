"""What every projector shares: the record it reads, the row it builds, and the calls the app makes on it
whatever its topic.

How a batch goes in differs (syslog and tables: process; poll results: prepare, publish, commit), so the app's
agents call that on the concrete projector; offsets, rebalances and shutdown go through this protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

Record = tuple[int, int, int, bytes]
"""(partition, offset, Kafka timestamp in ns, value) of one topic record."""

Row = dict[str, Any]
"""One table row, values by column name: the insert orders them (schemas.tables.COLUMNS)."""


def cut_by_bytes(records: Sequence[Record], limit: int) -> list[list[Record]]:
    """records in order, in consecutive parts of at most limit bytes of values (a bigger record alone)."""
    parts: list[list[Record]] = [[]]
    size = 0
    for record in records:
        if parts[-1] and size + len(record[3]) > limit:
            parts.append([])
            size = 0
        parts[-1].append(record)
        size += len(record[3])
    return parts if parts[0] else []


class Refused(Exception):
    """A record whose signature is missing or does not verify: a builder raises it, and the projector counts and
    logs it instead of storing it (common.signing)."""


class Projector(Protocol):
    """Projects one topic into ClickHouse and owns what it knows of the partitions this worker holds."""

    rows_stored: int
    """Rows inserted since start (this worker's share)."""

    def stored_offsets(self) -> dict[int, int]:
        """Highest offset handled per partition this worker holds."""
        ...

    def release(self, partitions: Iterable[int]) -> None:
        """Let go of partitions this worker no longer owns (rebalance), saving what must outlive it."""
        ...

    def release_all(self) -> None:
        """Let go of every partition (shutdown)."""
        ...
