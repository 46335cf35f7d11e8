"""The raw state a poll result stands for, before the state machine's repair rule.

Pure and table-free: the result carries the thresholds and level it ran under (schemas.polls), so
replaying the poll topic gives the same states whatever the inventory says by then.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from schemas.polls import PollResult

__all__ = ["FAILURES", "SEVERITY", "evaluate"]

SEVERITY = {"unknown": 0, "normal": 1, "repair": 2, "warn": 3, "low": 4, "high": 5}
"""Rank of each state, worst highest (TWSNMP FK: high > low > warn > repair > normal; unknown only when
nothing else is known). A node's state is the worst of its pollings'."""

FAILURES = frozenset({"high", "low", "warn"})
"""States a polling fails into (its level, or warn from a threshold); leaving them passes through repair."""

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def evaluate(result: PollResult) -> tuple[str, str]:
    """(raw state, reason) of one result.

    fail gives the polling's level and unknown gives unknown, whatever the thresholds say (there are no
    trustworthy values then). ok gives normal unless thresholds hold: a "fail" threshold gives the level,
    a "warn" one gives warn, and the worst wins; its text leads the reason. A threshold on a key the
    result lacks is skipped (the poll may not have produced it, e.g. rtt_ms when all pings were lost)
    but named in the reason, so a misspelt key does not go unnoticed.
    """
    if result.outcome == "fail":
        return result.level, result.error or "failed"
    if result.outcome == "unknown":
        return "unknown", result.error or "not polled"
    state = "normal"
    held: list[str] = []
    missing: list[str] = []
    for threshold in result.thresholds:
        value = result.values.get(threshold.key)
        if value is None:
            missing.append(f"no value for {threshold.key}")
            continue
        if not _OPS[threshold.op](value, threshold.limit):
            continue
        text = f"{threshold.key} {_number(value)} {threshold.op} {_number(threshold.limit)}"
        hit = result.level if threshold.state == "fail" else "warn"
        if SEVERITY[hit] > SEVERITY[state]:
            state = hit
            held.insert(0, text)
        else:
            held.append(text)
    return state, "; ".join((held or ["ok"]) + missing)


def _number(value: float) -> str:
    """512.3 as "512.3", 500.0 as "500": readable, and exact enough to see why a threshold held."""
    return f"{value:.15g}"
