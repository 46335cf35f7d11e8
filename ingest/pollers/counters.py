"""What the poller did: runs by outcome, how late they started, what reached Kafka.

Lateness (start of a run minus its slot) is the poller's health: a poller that cannot keep up shows it
here long before results go missing. Touched only on the event loop, so plain numbers suffice.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Callable

LATE_FRACTION = 0.05
"""A run that starts more than this share of its interval after its slot counts as late."""
LATENESS_SAMPLES = 100_000
"""Recent lateness values kept for percentiles (per log period)."""


@dataclasses.dataclass
class PollerCounters:
    """Totals since start, and the lateness of recent runs."""

    due: int = 0
    """Slots reached (each polling once per interval)."""
    run: int = 0
    late: int = 0
    ok: int = 0
    fail: int = 0
    unknown: int = 0
    skipped: int = 0
    """Slots not run because the polling's previous run was still going."""
    orphaned: int = 0
    """Slots of pollings whose node the inventory does not define (yet)."""
    published: int = 0
    """Results Kafka acknowledged."""
    dropped: int = 0
    """Results lost: Kafka queue full or failing, or unacknowledged at the end of the drain."""
    inventory_events: int = 0
    inventory_errors: int = 0
    """Inventory records that could not be read (logged, skipped)."""
    lateness: collections.deque[float] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=LATENESS_SAMPLES)
    )

    def __post_init__(self) -> None:
        self.refreshers: list[Callable[[], None]] = []
        """Called before the counters are read for metrics, to copy in what Kafka acknowledged (not a field)."""

    def started(self, lateness_s: float, interval_s: float) -> None:
        self.run += 1
        self.lateness.append(lateness_s)
        if lateness_s > LATE_FRACTION * interval_s:
            self.late += 1

    def outcome(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def totals(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "lateness"}

    def take_lateness(self) -> list[float]:
        """The lateness samples since the last call, sorted, and start a new period."""
        samples = sorted(self.lateness)
        self.lateness.clear()
        return samples


def quantile(ordered: list[float], q: float) -> float:
    """The q quantile (0-1) of sorted values, nearest rank; nan when there are none."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def rate_line(now: dict[str, int], before: dict[str, int], seconds: float, lateness: list[float]) -> str:
    """One log line: totals with per-second rates of the busy counters, and lateness percentiles."""

    def rate(name: str) -> str:
        return f"{name} {now[name]} ({(now[name] - before[name]) / seconds:,.1f}/s)"

    busy = ", ".join(rate(name) for name in ("due", "run", "ok", "fail", "unknown", "published"))
    late = (
        f"lateness p50 {quantile(lateness, 0.5):.3f}s p99 {quantile(lateness, 0.99):.3f}s max {lateness[-1]:.3f}s"
        if lateness
        else "no runs"
    )
    return (
        f"poller: {busy}, late {now['late']}, skipped {now['skipped']}, orphaned {now['orphaned']}, "
        f"dropped {now['dropped']}, inventory {now['inventory_events']} events "
        f"({now['inventory_errors']} unreadable); {late}"
    )
