"""Pages of a log tool: limit, field selection, the true total, a cursor to continue, and a cut at whole rows
before mcp.max_result_bytes (so the cursor continues exactly after the last row that went out)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from query_mcp.tools.logs.cursor import CursorError, Cursors, Position, query_digest
from query_mcp.tools.results import Listing, Row, dumps, structured


class Page(Listing[Row], Generic[Row]):
    """Rows of a log tool, with the cursor of the next page."""

    cursor: str = Field(
        description="Pass as cursor, with the same arguments, for the rows after these; blank when none are left."
    )


@dataclass(frozen=True, slots=True)
class Paging:
    """What the log tools share: the cursor signer and the result size limit (mcp.max_result_bytes)."""

    cursors: Cursors
    max_result_bytes: int


@dataclass(frozen=True, slots=True)
class Request:
    """One page asked for: the query's digest and where it starts (the cursor's window, or the call's)."""

    digest: str
    position: Position


def request(
    paging: Paging,
    tool: str,
    arguments: Mapping[str, Any],
    cursor: str,
    window: Callable[[], tuple[datetime, datetime]],
) -> Request:
    """The page a call asks for; a bad cursor is the agent's error, named."""
    digest = query_digest(tool, arguments)
    if not cursor:
        start, end = window()
        return Request(digest, Position(start, end, ()))
    try:
        return Request(digest, paging.cursors.open(cursor, digest))
    except CursorError as exc:
        raise ToolError(str(exc)) from None


def page(
    paging: Paging,
    req: Request,
    fetched: Sequence[tuple[dict[str, Any], tuple[Any, ...]]],
    limit: int,
    total: int,
    fields: Sequence[str],
) -> CallToolResult:
    """The result of a page from up to limit + 1 fetched (row, sort key) pairs: a row past limit only says
    that more are left; total: every row the query matches. Rows that would pass
    max_result_bytes are left for the next page."""
    rows = [_select(row, fields) for row, _ in fetched[:limit]]
    keys = [key for _, key in fetched[:limit]]
    more = len(fetched) > limit

    def data(n: int) -> dict[str, Any]:
        left = more or n < len(rows)
        cursor = paging.cursors.issue(req.digest, req.position.start, req.position.end, keys[n - 1]) if left else ""
        return {"items": rows[:n], "count": n, "total": total, "truncated": n < len(rows), "cursor": cursor}

    kept = len(rows)
    if rows and len(dumps(data(kept)).encode()) > paging.max_result_bytes:
        low, high = 0, kept
        while low < high:  # the most rows whose JSON fits
            mid = (low + high + 1) // 2
            if mid and len(dumps(data(mid)).encode()) <= paging.max_result_bytes:
                low = mid
            else:
                high = mid - 1
        if low == 0:
            raise ToolError(
                f"one row is over this server's limit of {paging.max_result_bytes} bytes (mcp.max_result_bytes); "
                "select fewer fields or narrow the filters"
            )
        kept = low
    return structured(data(kept))


def _select(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in fields} if fields else row
