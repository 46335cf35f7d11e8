"""Time expressions of the tools: absolute ("2025-10-27 00:00:00", ISO 8601) or relative ("-1h", "now").

Pure: the current time is an argument, so tests and callers agree on what "now" is.
Times without a zone are UTC, as every time netobs stores is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^-?\s*((?:\d{1,7}(?:\.\d{1,6})?\s*[smhdw]\s*){1,5})$")
_PART = re.compile(r"(\d{1,7}(?:\.\d{1,6})?)\s*([smhdw])")
_MAX_TEXT = 64


class TimeExprError(ValueError):
    """A time the caller can fix; the message says what is accepted."""


ACCEPTED = (
    'accepted: "now", a duration before now such as "-1h", "-30m", "-2d", "-1h30m" (units s, m, h, d, w), '
    'or an absolute UTC time such as "2025-10-27 00:00:00" or "2025-10-27T00:00:00+09:00"'
)


def parse_time(text: str | None, now: datetime, default: str) -> datetime:
    """One time expression -> an aware UTC datetime; empty means `default`."""
    text = (text or "").strip() or default
    if len(text) > _MAX_TEXT:
        raise TimeExprError(f"time expression too long ({len(text)} characters); {ACCEPTED}")
    if text.lower() == "now":
        return now
    match = _RELATIVE.match(text)
    if match:
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(match.group(1)))
        if seconds > 3650 * 86400:
            raise TimeExprError(f"{text!r} reaches back more than ten years; {ACCEPTED}")
        return now - timedelta(seconds=seconds)
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise TimeExprError(f"cannot read time {text!r}; {ACCEPTED}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def time_range(start: str | None, end: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The [start, end] window of a search; start defaults to "-1h" and end to "now", as in TWSNMP FK."""
    now = now or datetime.now(UTC)
    lo = _named("start_time", start, now, "-1h")
    hi = _named("end_time", end, now, "now")
    if lo > hi:
        raise TimeExprError(f"start_time {lo.isoformat()} is after end_time {hi.isoformat()}")
    return lo, hi


def _named(name: str, text: str | None, now: datetime, default: str) -> datetime:
    """parse_time whose error names the argument, so an agent knows which one to fix."""
    try:
        return parse_time(text, now, default)
    except TimeExprError as exc:
        raise TimeExprError(f"{name}: {exc}") from None
