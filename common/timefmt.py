"""Times as people and agents read them: RFC 3339 in UTC with a Z, from a stored datetime or from nanoseconds."""

from __future__ import annotations

import datetime as dt

_NS = 1_000_000_000


def rfc3339(value: dt.datetime) -> str:
    """A stored time is UTC: say so with Z whether or not the driver attached a zone."""
    return value.replace(tzinfo=None).isoformat() + "Z"


def rfc3339_ns(ns: int, digits: int = 9) -> str:
    """Nanoseconds since the epoch with `digits` fraction digits (9 keeps every one a column holds; 6 is what
    the MCP tools write), truncated, never rounded into the next second."""
    seconds, fraction = divmod(ns, _NS)
    at = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{fraction:09d}"[: 20 + digits] + "Z"
