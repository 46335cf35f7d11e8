"""Time buckets of the counting tools. Pure: a bucket length that gives a readable number of points, and
counts laid out on the window's buckets (zeros included, so a gap shows)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from common.timefmt import rfc3339

STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
"""Bucket lengths in seconds: minutes to a week, each a divisor of the next day or week."""
MAX_BUCKETS = 200
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "6h": 6 * 3600, "1d": 86400}


def auto_bucket(start: datetime, end: datetime, points: int = 12) -> int:
    """The smallest step giving at most `points` buckets over the window."""
    span = max((end - start).total_seconds(), 1.0)
    return next((step for step in STEPS if span / step <= points), STEPS[-1])


def bucket_starts(start: datetime, end: datetime, seconds: int) -> list[datetime]:
    """Start of each bucket the window touches, aligned like ClickHouse's toStartOfInterval (on the epoch)."""
    first = math.floor(_epoch(start) / seconds) * seconds
    last = math.floor(_epoch(end) / seconds) * seconds
    origin = datetime.fromtimestamp(first, tz=UTC)
    return [origin + timedelta(seconds=seconds * i) for i in range((last - first) // seconds + 1)]


def series(starts: list[datetime], counts: Iterable[tuple[datetime, int]]) -> list[int]:
    """Counts on the buckets starts names, zero where nothing was counted."""
    index = {_epoch(t): i for i, t in enumerate(starts)}
    out = [0] * len(starts)
    for at, n in counts:
        i = index.get(_epoch(at))
        if i is not None:
            out[i] += int(n)
    return out


def labels(starts: list[datetime]) -> list[str]:
    return [rfc3339(t) for t in starts]


def _epoch(t: datetime) -> int:
    """Seconds since the epoch of a UTC time, with or without its zone attached (the driver omits it)."""
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())
