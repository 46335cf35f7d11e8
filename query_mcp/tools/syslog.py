"""search_syslog and get_syslog_summary: TWSNMP FK's parameters, bounds and field names, from ClickHouse; pages
with a cursor, and a template filter that finds every line of a pattern whatever template id it was mined under."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import syslog_queries as q
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, regex_filters, window
from query_mcp.tools.logs.paging import Page, Paging, page, request
from query_mcp.tools.params import Cursor, EndTime, LogLimit, NewestFirst, StartTime
from query_mcp.tools.results import Listing, listing, rfc3339_or_blank

LEVELS = "Level names: high (severity 0-2), low (3), warn (4), info (5-6), debug (7)."
LevelFilter = Annotated[str, Field(description=f"Regular expression (RE2) on the level name; blank for all. {LEVELS}")]
HostFilter = Annotated[str, Field(description="Regular expression (RE2) on the host name; blank for all.")]
TagFilter = Annotated[str, Field(description="Regular expression (RE2) on the syslog tag (app name); blank for all.")]
MessageFilter = Annotated[str, Field(description="Regular expression (RE2) on the message text; blank for all.")]
TemplateFilter = Annotated[
    str,
    Field(
        description="A pattern's TemplateID (from get_syslog_summary or a line): only that pattern's lines, under "
        "whichever template id each was mined; blank for all."
    ),
]
SyslogField = Literal[
    "Time",
    "Level",
    "Host",
    "Type",
    "Tag",
    "Message",
    "Severity",
    "Facility",
    "EventTime",
    "Source",
    "PID",
    "MsgID",
    "StructuredData",
    "TemplateID",
    "ParseError",
    "Compliance",
    "ParseIssues",
]
Fields = Annotated[
    list[SyslogField], Field(description='Fields of each entry, e.g. ["Time","Host","Message"]; empty for all.')
]


class SyslogEntry(TypedDict, total=False):
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
    Compliance: str
    ParseIssues: list[str]


class PatternEntry(TypedDict):
    Pattern: str
    Count: int
    TemplateID: str
    FirstSeen: str
    LastSeen: str
    FirstSeenEver: str
    Level: str
    Hosts: int
    TopHosts: list[str]
    Example: str


async def syslog_filter(store: Store, start: Any, end: Any, template_id: str = "", **filters: str) -> q.SyslogFilter:
    """The shared filters after RE2 has compiled them; a template id resolved to every id of its pattern."""
    ids = await pattern_members(store, template_id) if template_id.strip() else ()
    return q.SyslogFilter(start=start, end=end, template_ids=ids, **await regex_filters(store, **filters))


async def pattern_members(store: Store, template_id: str) -> tuple[int, ...]:
    """Every template id whose lines the summary counts under this one's pattern (its own included)."""
    try:
        tid = int(template_id.strip())
    except ValueError:
        raise ToolError(f"template_id: a TemplateID is a decimal number, got {template_id[:40]!r}") from None
    if not 0 < tid < 1 << 64:
        raise ToolError("template_id: out of range")
    current = int((await store.rows(*q.current_id_sql(store.database, tid)))[0][0])
    pattern = current or tid
    members = {int(row[0]) for row in await store.rows(*q.members_sql(store.database, pattern))}
    return tuple(sorted(members | {pattern}))


def register(server: MCPServer, store: Store, paging: Paging) -> None:
    """Add the syslog tools to the server."""

    @server.tool(
        name="search_syslog",
        title="Search syslog",
        description=(
            "Search syslog messages in a time window. Returns {items, count, total, truncated, cursor}; items holds "
            "{Time, Level, Host, Type, Tag, Message, Severity, Facility, ...} (only `fields` when given), oldest "
            "first (newest first with newest_first=true); total is every line matched; cursor continues after the "
            "last item. template_id selects every line of one pattern. limit is 1-10000 (default 100)."
        ),
        annotations=READ_ONLY,
    )
    async def search_syslog(
        level_filter: LevelFilter = "",
        host_filter: HostFilter = "",
        tag_filter: TagFilter = "",
        message_filter: MessageFilter = "",
        template_id: TemplateFilter = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        limit: LogLimit = 100,
        newest_first: NewestFirst = False,
        fields: Fields | None = None,
        cursor: Cursor = "",
    ) -> Annotated[CallToolResult, Page[SyslogEntry]]:
        query = {
            "level_filter": level_filter,
            "host_filter": host_filter,
            "tag_filter": tag_filter,
            "message_filter": message_filter,
            "template_id": template_id,
            "start_time": start_time,
            "end_time": end_time,
            "newest_first": newest_first,
        }
        req = request(paging, "search_syslog", query, cursor, lambda: window(start_time, end_time))
        f = await syslog_filter(
            store,
            req.position.start,
            req.position.end,
            template_id,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        rows, counted = await asyncio.gather(
            store.rows(*q.search_sql(store.database, f, limit + 1, newest_first, req.position.after)),
            store.rows(*q.count_sql(store.database, f)),
        )
        fetched = [(_syslog_entry(row[:17]), (row[0], *row[17:])) for row in rows]
        return page(paging, req, fetched, limit, int(counted[0][0]), fields or [])

    @server.tool(
        name="get_syslog_summary",
        title="Summarise syslog by pattern",
        description=(
            "Summarise syslog in a time window by message pattern (log template). Returns {items, count, total, "
            "truncated}; items holds {Pattern, Count, TemplateID, FirstSeen, LastSeen, FirstSeenEver, Level, Hosts, "
            "TopHosts, Example}, the biggest count first; FirstSeen/LastSeen are within the window, FirstSeenEver "
            "the pattern's first sight of all; TemplateID given to search_syslog's template_id lists its lines. "
            "top_n is 1-500 (default 5). Filters are as in search_syslog."
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
        top_n: Annotated[int, Field(ge=1, le=500, description="Number of patterns returned, 1-500 (default 5).")] = 5,
    ) -> Annotated[CallToolResult, Listing[PatternEntry]]:
        start, end = window(start_time, end_time)
        f = await syslog_filter(
            store,
            start,
            end,
            level_filter=level_filter,
            host_filter=host_filter,
            tag_filter=tag_filter,
            message_filter=message_filter,
        )
        rows = await store.rows(*q.summary_sql(store.database, f, top_n))
        ids = [int(row[0]) for row in rows]
        templates, first_ever = await describe_patterns(store, ids)
        return listing(
            [
                {
                    "Pattern": templates.get(int(tid), ""),
                    "Count": int(n),
                    "TemplateID": str(tid),
                    "FirstSeen": rfc3339(first),
                    "LastSeen": rfc3339(last),
                    "FirstSeenEver": first_ever.get(int(tid), ""),
                    "Level": level,
                    "Hosts": int(hosts),
                    "TopHosts": list(top_hosts),
                    "Example": example,
                }
                for tid, n, first, last, level, example, hosts, top_hosts in rows
            ]
        )


async def describe_patterns(store: Store, ids: list[int]) -> tuple[dict[int, str], dict[int, str]]:
    """Each pattern's template text and when it was first seen ever."""
    if not ids:
        return {}, {}
    texts, firsts = await asyncio.gather(
        store.rows(*q.templates_sql(store.database, ids)), store.rows(*q.first_seen_sql(store.database, ids))
    )
    return {int(t): text for t, text in texts}, {int(t): rfc3339_or_blank(at) for t, at in firsts}


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
        compliance,
        parse_issues,
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
        "Compliance": compliance,
        "ParseIssues": list(parse_issues),
    }
