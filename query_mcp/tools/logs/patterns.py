"""find_new_syslog_patterns and find_syslog_spikes: pattern-level answers. New patterns are those with lines in
a window and none in a baseline (or ever before); spikes are patterns, hosts, levels or tags whose count in a
window departs from their own baseline rate, scored so an agent can rank them, with the counts per bucket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import count_queries as cq
from query_mcp.sql import syslog_queries as sq
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, window
from query_mcp.tools.logs.buckets import auto_bucket, bucket_starts, labels, series
from query_mcp.tools.params import EndTime, StartTime, TopN
from query_mcp.tools.results import Listing, listing, structured
from query_mcp.tools.syslog import HostFilter, LevelFilter, MessageFilter, TagFilter, describe_patterns, syslog_filter

BASELINE_WINDOWS = 24
"""Default baseline: this many window lengths before the window (a day before an hour), at most MAX_BASELINE."""
MAX_BASELINE = timedelta(days=7)
BaselineStart = Annotated[
    str,
    Field(
        description='Start of the baseline, which ends where the window starts: "-2d" or "2025-10-27 00:00:00" '
        "(UTC). Blank: for new patterns everything stored before the window; for spikes 24 window lengths "
        "(at most 7 days)."
    ),
]


class NewPattern(TypedDict):
    TemplateID: str
    Pattern: str
    Count: int
    FirstSeen: str
    LastSeen: str
    FirstLine: str
    Level: str
    Hosts: int
    TopHosts: list[str]


class Spike(TypedDict, total=False):
    Key: str
    Pattern: str
    Count: int
    Expected: float
    BaselineCount: int
    Score: float
    Buckets: list[int]


class Spikes(Listing[Spike]):
    """Keys ranked by score."""

    baseline_start: str = Field(description="Start of the baseline (it ends at the window's start).")
    bucket_seconds: int = Field(description="Length of a bucket of Buckets.")
    bucket_starts: list[str] = Field(description="Start of each bucket of the window.")


def baseline(start: datetime, end: datetime, given: str) -> datetime:
    """The baseline's start: given, or BASELINE_WINDOWS window lengths before start (at most MAX_BASELINE)."""
    if given.strip():
        return window(given, "")[0]
    return start - min((end - start) * BASELINE_WINDOWS, MAX_BASELINE)


def register(server: MCPServer, store: Store) -> None:
    """Add the pattern tools to the server."""

    @server.tool(
        name="find_new_syslog_patterns",
        title="New syslog patterns",
        annotations=READ_ONLY,
        description=(
            "Patterns with lines in the window (default the last hour) and none in the baseline (default: never "
            "before, as far as the store keeps), under the same filters: with a host_filter, what is new for those "
            "hosts. Returns {items: [{TemplateID, Pattern, Count, FirstSeen, LastSeen, FirstLine, Level, Hosts, "
            "TopHosts}], ...}, the biggest first. TemplateID given to search_syslog lists the lines."
        ),
    )
    async def find_new_syslog_patterns(
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        baseline_start: BaselineStart = "",
        top_n: TopN = 10,
    ) -> Annotated[CallToolResult, Listing[NewPattern]]:
        start, end = window(start_time, end_time)
        since = window(baseline_start, "")[0] if baseline_start.strip() else None
        f = await syslog_filter(
            store,
            start,
            end,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        rows = await store.rows(*sq.new_patterns_sql(store.database, f, since, top_n))
        texts, _ = await describe_patterns(store, [int(row[0]) for row in rows])
        return listing(
            [
                {
                    "TemplateID": str(tid),
                    "Pattern": texts.get(int(tid), ""),
                    "Count": int(n),
                    "FirstSeen": rfc3339(first),
                    "LastSeen": rfc3339(last),
                    "FirstLine": first_line,
                    "Level": level,
                    "Hosts": int(hosts),
                    "TopHosts": list(top_hosts),
                }
                for tid, n, first, last, first_line, level, hosts, top_hosts in rows
            ]
        )

    @server.tool(
        name="find_syslog_spikes",
        title="Syslog spikes",
        annotations=READ_ONLY,
        description=(
            "Patterns, hosts, levels or tags (by) whose line count in the window (default the last hour) departs "
            "from their own rate in the baseline. Score = (Count - Expected) / sqrt(Expected + 1), Expected the "
            "baseline's count scaled to the window; ranked by score (direction up: rises, down: drops, both). "
            "Returns {items: [{Key, Pattern, Count, Expected, BaselineCount, Score, Buckets}], baseline_start, "
            "bucket_seconds, bucket_starts, ...}; Buckets are the window's counts per bucket."
        ),
    )
    async def find_syslog_spikes(
        by: Annotated[Literal["pattern", "host", "level", "tag"], Field(description="What to score.")] = "pattern",
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        baseline_start: BaselineStart = "",
        direction: Annotated[
            Literal["up", "down", "both"], Field(description="Rises (default), drops or both.")
        ] = "up",
        top_n: TopN = 10,
    ) -> Annotated[CallToolResult, Spikes]:
        start, end = window(start_time, end_time)
        since = baseline(start, end, baseline_start)
        f = await syslog_filter(
            store,
            start,
            end,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        clauses, params = sq.where(f, window=False)
        src = cq.syslog_source(store.database)
        rows = await store.rows(*cq.spikes_sql(src, by, clauses, params, (start, end), since, direction, top_n))
        keys = [str(row[0]) for row in rows]
        seconds = auto_bucket(start, end)
        starts = bucket_starts(start, end, seconds)
        counts: dict[str, list[tuple[datetime, int]]] = {}
        if keys:
            for key, at, n in await store.rows(*cq.buckets_sql(src, by, clauses, params, start, end, seconds, keys)):
                counts.setdefault(str(key), []).append((at, int(n)))
        texts = (await describe_patterns(store, [int(k) for k in keys]))[0] if by == "pattern" else {}
        items: list[dict[str, Any]] = []
        for key, c, b, e, score in rows:
            item: dict[str, Any] = {"Key": str(key)}
            if by == "pattern":
                item["Pattern"] = texts.get(int(key), "")
            item |= {
                "Count": int(c),
                "Expected": round(float(e), 2),
                "BaselineCount": int(b),
                "Score": round(float(score), 2),
                "Buckets": series(starts, counts.get(str(key), [])),
            }
            items.append(item)
        return structured(
            {
                "items": items,
                "count": len(items),
                "total": len(items),
                "truncated": False,
                "baseline_start": rfc3339(since),
                "bucket_seconds": seconds,
                "bucket_starts": labels(starts),
            }
        )
