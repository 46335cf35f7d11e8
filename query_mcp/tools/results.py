"""How the tools render results: compact JSON, blank for times never set (common.timefmt writes the rest)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from common.timefmt import rfc3339

_EPOCH_YEAR = 1970


def rfc3339_or_blank(value: datetime | None) -> str:
    """Blank for a time that was never set: a LEFT JOIN that found nothing yields the epoch, not NULL."""
    if value is None or value.year <= _EPOCH_YEAR:
        return ""
    return rfc3339(value)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_object(text: str) -> dict[str, Any]:
    """A stored JSON object (e.g. polling_state.last_result) as a dict; anything else becomes {}."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
