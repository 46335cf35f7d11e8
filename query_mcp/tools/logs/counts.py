"""count_syslog, count_snmp_traps, count_event_log: how many lines per host, level, tag, pattern (traps per type
and sender, events per node, level and type), the top N, optionally per time bucket, without SQL. One call
answers "which hosts send the most errors" in a few hundred characters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from query_mcp.sql import count_queries as cq
from query_mcp.sql import syslog_queries as sq
from query_mcp.sql import trap_event_queries as tq
from query_mcp.sql.filters import regex_clauses
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, regex_filters, window
from query_mcp.tools.logs.buckets import BUCKETS, MAX_BUCKETS, auto_bucket, bucket_starts, labels, series
from query_mcp.tools.params import EndTime, StartTime, TopN
from query_mcp.tools.results import Listing, structured
from query_mcp.tools.syslog import (
    HostFilter,
    LevelFilter,
    MessageFilter,
    TagFilter,
    TemplateFilter,
    describe_patterns,
    syslog_filter,
)

Bucket = Annotated[
    Literal["", "auto", "1m", "5m", "15m", "30m", "1h", "6h", "1d"],
    Field(description='Also count per time bucket of this length ("auto": about 12 buckets); blank: totals only.'),
]


class CountEntry(TypedDict, total=False):
    Key: str
    Count: int
    Pattern: str
    Buckets: list[int]


class Counts(Listing[CountEntry]):
    """Counts per key, the biggest first."""

    matched: int = Field(description="Entries matched in the window, over all keys.")
    others: int = Field(description="Entries of the keys left out of items (past top_n).")
    bucket_seconds: int = Field(description="Length of a bucket; 0 without buckets.")
    bucket_starts: list[str] = Field(description="Start of each bucket; Buckets[i] counts from bucket_starts[i].")


async def counted(
    store: Store,
    src: cq.Source,
    by: str,
    filters: tuple[list[str], dict[str, object]],
    window: tuple[datetime, datetime],
    top_n: int,
    bucket: str,
) -> CallToolResult:
    """The counts result of one source; keys of patterns carry their template text."""
    start, end = window
    clauses, params = filters
    rows = await store.rows(*cq.top_sql(src, by, clauses, params, start, end, top_n))
    keys = [str(key) for key, *_ in rows]
    groups, matched = (int(rows[0][2]), int(rows[0][3])) if rows else (0, 0)
    items: list[dict[str, Any]] = [{"Key": key, "Count": int(n)} for key, n, *_ in rows]
    seconds, starts = 0, []
    if bucket and keys:
        seconds = auto_bucket(start, end) if bucket == "auto" else BUCKETS[bucket]
        starts = bucket_starts(start, end, seconds)
        if len(starts) > MAX_BUCKETS:
            raise ToolError(f"bucket: {bucket} makes {len(starts)} buckets over this window; at most {MAX_BUCKETS}")
        counts: dict[str, list[tuple[datetime, int]]] = {}
        for key, at, n in await store.rows(*cq.buckets_sql(src, by, clauses, params, start, end, seconds, keys)):
            counts.setdefault(str(key), []).append((at, int(n)))
        for item in items:
            item["Buckets"] = series(starts, counts.get(item["Key"], []))
    if by == "pattern" and keys:
        texts, _ = await describe_patterns(store, [int(k) for k in keys])
        for item in items:
            item["Pattern"] = texts.get(int(item["Key"]), "")
    return structured(
        {
            "items": items,
            "count": len(items),
            "total": groups,
            "truncated": False,
            "matched": matched,
            "others": matched - sum(item["Count"] for item in items),
            "bucket_seconds": seconds,
            "bucket_starts": labels(starts),
        }
    )


def register(server: MCPServer, store: Store) -> None:
    """Add the counting tools to the server."""

    @server.tool(
        name="count_syslog",
        title="Count syslog lines by host, level, tag or pattern",
        annotations=READ_ONLY,
        description=(
            "Count syslog lines in a time window per host, level, tag or pattern (by), the top_n biggest first, "
            "optionally per time bucket. Returns {items: [{Key, Count, Pattern, Buckets}], count, total (keys "
            "matched), matched (lines), others, bucket_seconds, bucket_starts, truncated}. E.g. the hosts sending "
            'the most errors: by="host", level_filter="high|low". Pattern keys are TemplateIDs for search_syslog.'
        ),
    )
    async def count_syslog(
        by: Annotated[
            Literal["host", "level", "tag", "pattern", "all"], Field(description="What to count per.")
        ] = "host",
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        template_id: TemplateFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        top_n: TopN = 10,
        bucket: Bucket = "",
    ) -> Annotated[CallToolResult, Counts]:
        start, end = window(start_time, end_time)
        f = await syslog_filter(
            store,
            start,
            end,
            template_id,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        clauses, params = sq.where(f, window=False)
        return await counted(
            store, cq.syslog_source(store.database), by, (clauses, params), (start, end), top_n, bucket
        )

    @server.tool(
        name="count_snmp_traps",
        title="Count SNMP traps by type or sender",
        annotations=READ_ONLY,
        description=(
            "Count SNMP traps in a time window per trap type or sender address (by), the top_n biggest first, "
            "optionally per time bucket. Returns {items: [{Key, Count, Buckets}], count, total, matched, others, "
            "bucket_seconds, bucket_starts, truncated}. Filters as in search_snmp_trap_log."
        ),
    )
    async def count_snmp_traps(
        by: Annotated[Literal["type", "sender", "all"], Field(description="What to count per.")] = "type",
        from_filter: Annotated[str, Field(description="Regular expression (RE2) on the sender's address.")] = "",
        trap_type_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the trap name or its numeric OID.")
        ] = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        top_n: TopN = 10,
        bucket: Bucket = "",
    ) -> Annotated[CallToolResult, Counts]:
        start, end = window(start_time, end_time)
        filters = await regex_filters(store, from_filter=from_filter, trap_type_filter=trap_type_filter)
        clauses = regex_clauses(filters, tq.TRAP_FILTERS)
        return await counted(store, cq.trap_source(store.database), by, clauses, (start, end), top_n, bucket)

    @server.tool(
        name="count_event_log",
        title="Count event log entries by node, level or type",
        annotations=READ_ONLY,
        description=(
            "Count event log entries in a time window per node, level or type (by), the top_n biggest first, "
            "optionally per time bucket. Returns {items: [{Key, Count, Buckets}], count, total, matched, others, "
            "bucket_seconds, bucket_starts, truncated}. Filters as in search_event_log."
        ),
    )
    async def count_event_log(
        by: Annotated[Literal["node", "level", "type", "all"], Field(description="What to count per.")] = "node",
        node_filter: Annotated[str, Field(description="Regular expression (RE2) on the node name.")] = "",
        level_filter: Annotated[str, Field(description="Regular expression (RE2) on the level.")] = "",
        type_filter: Annotated[str, Field(description="Regular expression (RE2) on the event type.")] = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        top_n: TopN = 10,
        bucket: Bucket = "",
    ) -> Annotated[CallToolResult, Counts]:
        start, end = window(start_time, end_time)
        filters = await regex_filters(
            store, node_filter=node_filter, level_filter=level_filter, type_filter=type_filter
        )
        clauses = regex_clauses(filters, tq.EVENT_FILTERS)
        return await counted(store, cq.event_source(store.database), by, clauses, (start, end), top_n, bucket)
