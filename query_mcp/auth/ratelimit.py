"""Token buckets per key (client address, or principal and tool), bounded in memory. Pure: the clock is
passed in, so tests need no sleeping."""

from __future__ import annotations

from collections import OrderedDict

MAX_KEYS = 10_000
"""Beyond this many keys the least recently used bucket is forgotten (a full bucket again)."""


class RateLimiter:
    """rate tokens per second, up to burst; each allowed request takes one."""

    def __init__(self, rate: float, burst: float, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()

    def take(self, key: object, now: float) -> float:
        """0.0 when allowed (and a token is taken); otherwise the seconds until one is available."""
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
