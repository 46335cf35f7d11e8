"""Values from the wire made safe for ClickHouse columns.

A number outside its column's range makes ClickHouse refuse the whole insert, and the worker would retry
that insert forever, stalling the partition. Builders pass every wire number through these bounds first.
"""

from __future__ import annotations

MAX_DATETIME64_US = 10_413_791_999_999_999
"""2299-12-31 23:59:59.999999 UTC in microseconds, the last instant DateTime64 holds."""


def micros(ns: int) -> int:
    """Nanoseconds since the epoch as DateTime64(6) microseconds, kept within the column's range."""
    return min(max(ns // 1000, 0), MAX_DATETIME64_US)


def bounded(value: int, low: int, high: int) -> int:
    """value pulled into [low, high]."""
    return min(max(value, low), high)


INT8 = (-(2**7), 2**7 - 1)
INT32 = (-(2**31), 2**31 - 1)
UINT8 = (0, 2**8 - 1)
UINT16 = (0, 2**16 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
