"""Bounds of tool arguments the input schema cannot state: filters checked for size and NUL."""

from __future__ import annotations

MAX_FILTER_CHARS = 1024


class ArgumentError(ValueError):
    """An argument the agent can correct; the message names it and says what is accepted."""


def check_filter(name: str, pattern: str | None) -> str:
    """A regular-expression filter as given (ClickHouse's RE2 evaluates it); empty means no filter."""
    pattern = pattern or ""
    if len(pattern) > MAX_FILTER_CHARS:
        raise ArgumentError(f"{name}: at most {MAX_FILTER_CHARS} characters, got {len(pattern)}")
    if "\x00" in pattern:
        raise ArgumentError(f"{name}: must not contain NUL characters")
    return pattern
