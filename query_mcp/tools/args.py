"""Validation shared by the read tools: every mistake becomes a ToolError that names the argument."""

from __future__ import annotations

from datetime import datetime

from mcp.server.mcpserver.exceptions import ToolError

from query_mcp.store import Store
from query_mcp.tools.bounds import ArgumentError, check_filter
from query_mcp.tools.timeexpr import TimeExprError, time_range

MAX_ID_CHARS = 256
LIST_CAP = 10_000
"""Most rows a list without a documented limit returns (TWSNMP FK returns all; an agent's context cannot)."""


async def regex_filters(store: Store, **filters: str) -> dict[str, str]:
    """The filters as given, after ClickHouse (RE2) has compiled each one."""
    try:
        checked = {name: check_filter(name, value) for name, value in filters.items()}
        await store.check_regexes(checked)
    except ArgumentError as exc:
        raise ToolError(str(exc)) from None
    return checked


def window(start_time: str, end_time: str, default_start: str = "-1h") -> tuple[datetime, datetime]:
    """[start, end] from the tools' time expressions; blank start_time means default_start, blank end_time now."""
    try:
        return time_range((start_time or "").strip() or default_start, end_time)
    except TimeExprError as exc:
        raise ToolError(str(exc)) from None


def required_text(name: str, value: str | None) -> str:
    """A short mandatory string argument such as an id."""
    text = (value or "").strip()
    if not text:
        raise ToolError(f"{name}: required")
    if len(text) > MAX_ID_CHARS or "\x00" in text:
        raise ToolError(f"{name}: at most {MAX_ID_CHARS} characters and no NUL")
    return text
