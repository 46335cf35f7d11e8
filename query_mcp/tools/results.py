"""How the tools render results: an object matching the tool's outputSchema, as structuredContent and as the same
compact JSON in a text item for clients without structured output; blank for times never set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from common.timefmt import rfc3339

Row = TypeVar("Row")


class Listing(BaseModel, Generic[Row]):
    """Rows of a list tool. The guard cuts a result over mcp.max_result_bytes at whole rows and says so here."""

    items: list[Row] = Field(description="The rows, in the order the tool documents.")
    count: int = Field(description="Rows in items.")
    total: int = Field(description="Rows the query matched (up to its limit); more than count when truncated.")
    truncated: bool = Field(description="True when rows were left off to stay within the result size limit.")


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


def listing(rows: Sequence[Any]) -> CallToolResult:
    """A list tool's result: every row, none left off yet."""
    return structured({"items": list(rows), "count": len(rows), "total": len(rows), "truncated": False})


def structured(data: dict[str, Any]) -> CallToolResult:
    """data as structuredContent and as the same compact JSON text (the SDK would indent its own copy)."""
    return CallToolResult(content=[TextContent(type="text", text=dumps(data))], structured_content=data)
