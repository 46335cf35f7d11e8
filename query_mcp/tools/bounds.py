"""Bounds of tool arguments: limits clamped to their documented ranges, filters checked for size."""

from __future__ import annotations

MAX_FILTER_CHARS = 1024


class ArgumentError(ValueError):
    """An argument the agent can correct; the message names it and says what is accepted."""


def clamp(value: int | None, low: int, high: int, default: int) -> int:
    """TWSNMP FK's rule: missing or 0 takes the default; otherwise the value is pulled into [low, high]."""
    if not value:
        return default
    return max(low, min(high, int(value)))


def check_filter(name: str, pattern: str | None) -> str:
    """A regular-expression filter as given (ClickHouse's RE2 evaluates it); empty means no filter."""
    pattern = pattern or ""
    if len(pattern) > MAX_FILTER_CHARS:
        raise ArgumentError(f"{name}: at most {MAX_FILTER_CHARS} characters, got {len(pattern)}")
    if "\x00" in pattern:
        raise ArgumentError(f"{name}: must not contain NUL characters")
    return pattern
