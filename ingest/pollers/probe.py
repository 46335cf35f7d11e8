"""What every probe returns, and how probes read their string params.

A probe reports what it saw: ok (the target answered), fail (it did not, or answered with an error) or
unknown (netobs could not poll: bad params, missing credential), with numbers in values and words in texts.
A probe that cannot poll raises Unpollable (BadParam for a bad param), which the runner turns into unknown,
so a typo in the inventory or a missing privilege never looks like an outage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.polls import Outcome


class Unpollable(Exception):
    """netobs cannot poll this (no credential, no privilege, no usable address): says nothing of the target."""


class BadParam(Unpollable, ValueError):
    """A polling's params cannot be used; the message names the param."""


@dataclass(frozen=True)
class Measurement:
    """What one poll saw."""

    outcome: Outcome
    values: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    error: str = ""


def ok(values: dict[str, float] | None = None, texts: dict[str, str] | None = None) -> Measurement:
    return Measurement("ok", values or {}, texts or {})


def fail(error: str, values: dict[str, float] | None = None, texts: dict[str, str] | None = None) -> Measurement:
    return Measurement("fail", values or {}, texts or {}, error)


def unknown(error: str) -> Measurement:
    return Measurement("unknown", error=error)


def int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer param within [low, high]; absent or empty gives the default."""
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"param {name}: an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParam(f"param {name}: {low}-{high}, got {value}")
    return value


def bool_param(params: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false, yes/no, 1/0, on/off; absent or empty gives the default."""
    raw = params.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise BadParam(f"param {name}: true or false, got {raw!r}")


def port_param(params: Mapping[str, str], default: int) -> int:
    return int_param(params, "port", default, 1, 65535)


def ms_since(start: float, now: float) -> float:
    """Milliseconds between two perf_counter readings, rounded to microseconds."""
    return round((now - start) * 1000, 3)


def os_error(exc: OSError) -> str:
    """ "Connection refused" rather than asyncio's "Connect call failed ('127.0.0.1', 80)"."""
    return os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
