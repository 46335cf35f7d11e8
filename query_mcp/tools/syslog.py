"""search_syslog and get_syslog_summary: TWSNMP FK's parameters, bounds and field names, from ClickHouse."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import syslog_queries as q
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, regex_filters, window
from query_mcp.tools.params import EndTime, LogLimit, NewestFirst, StartTime
from query_mcp.tools.results import Listing, listing

LEVELS = "Level names: high (severity 0-2), low (3), warn (4), info (5-6), debug (7)."
LevelFilter = Annotated[str, Field(description=f"Regular expression (RE2) on the level name; blank for all. {LEVELS}")]
HostFilter = Annotated[str, Field(description="Regular expression (RE2) on the host name; blank for all.")]
TagFilter = Annotated[str, Field(description="Regular expression (RE2) on the syslog tag (app name); blank for all.")]
MessageFilter = Annotated[str, Field(description="Regular expression (RE2) on the message text; blank for all.")]


class SyslogEntry(TypedDict):
    Time: str
    Level: str
    Host: str
    Type: str
    Tag: str
    Message: str
    Severity: int
    Facility: int
    EventTime: str
    Source: str
    PID: str
    MsgID: str
    StructuredData: str
    TemplateID: str
    ParseError: bool


class PatternEntry(TypedDict):
    Pattern: str
    Count: int
    TemplateID: str
    FirstSeen: str
    LastSeen: str
    Level: str
    Hosts: int
    Example: str


async def _window(store: Store, start_time: str, end_time: str, **filters: str) -> q.SyslogFilter:
    """Validate the shared arguments; every mistake becomes a ToolError the agent can act on."""
    start, end = window(start_time, end_time)
    return q.SyslogFilter(start=start, end=end, **await regex_filters(store, **filters))


def register(server: MCPServer, store: Store) -> None:
    """Add the syslog tools to the server."""

    @server.tool(
        name="search_syslog",
        title="Search syslog",
        description=(
            "Search syslog messages in a time window. Returns {items, count, total, truncated}; items holds "
            "{Time, Level, Host, Type, Tag, Message, Severity, Facility, ...}, oldest first "
            "(newest first with newest_first=true). limit is 100-10000 (default 100)."
        ),
        annotations=READ_ONLY,
    )
    async def search_syslog(
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        limit: LogLimit = 100,
        newest_first: NewestFirst = False,
    ) -> Annotated[CallToolResult, Listing[SyslogEntry]]:
        window = await _window(
            store,
            start_time,
            end_time,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        sql, params = q.search_sql(store.database, window, limit, newest_first)
        rows = await store.rows(sql, params)
        return listing([_syslog_entry(row) for row in rows])

    @server.tool(
        name="get_syslog_summary",
        title="Summarise syslog by pattern",
        description=(
            "Summarise syslog in a time window by message pattern (log template). Returns {items, count, total, "
            "truncated}; items holds {Pattern, Count, TemplateID, FirstSeen, LastSeen, Level, Hosts, Example}, the "
            "biggest count first. top_n is 5-500 (default 5). Filters are as in search_syslog."
        ),
        annotations=READ_ONLY,
    )
    async def get_syslog_summary(
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        top_n: Annotated[int, Field(ge=5, le=500, description="Number of patterns returned, 5-500 (default 5).")] = 5,
    ) -> Annotated[CallToolResult, Listing[PatternEntry]]:
        window = await _window(
            store,
            start_time,
            end_time,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        sql, params = q.summary_sql(store.database, window, top_n)
        rows = await store.rows(sql, params)
        ids = [int(row[0]) for row in rows]
        templates: dict[int, str] = {}
        if ids:
            t_sql, t_params = q.templates_sql(store.database, ids)
            templates = {int(tid): text for tid, text in await store.rows(t_sql, t_params)}
        return listing(
            [
                {
                    "Pattern": templates.get(int(tid), ""),
                    "Count": int(n),
                    "TemplateID": str(tid),
                    "FirstSeen": rfc3339(first),
                    "LastSeen": rfc3339(last),
                    "Level": level,
                    "Hosts": int(hosts),
                    "Example": example,
                }
                for tid, n, first, last, level, example, hosts in rows
            ]
        )


def _syslog_entry(row: Any) -> dict[str, Any]:
    (
        received,
        level,
        host,
        type_,
        tag,
        message,
        severity,
        facility,
        event_time,
        source,
        pid,
        msgid,
        sd,
        template_id,
        parse_error,
    ) = row
    return {
        "Time": rfc3339(received),
        "Level": level,
        "Host": host,
        "Type": type_,
        "Tag": tag,
        "Message": message,
        "Severity": int(severity),
        "Facility": int(facility),
        "EventTime": rfc3339(event_time),
        "Source": source,
        "PID": pid,
        "MsgID": msgid,
        "StructuredData": sd,
        "TemplateID": str(template_id),
        "ParseError": bool(parse_error),
    }
