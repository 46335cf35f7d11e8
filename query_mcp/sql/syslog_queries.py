"""SQL for the syslog tools, built from validated arguments. Pure: returns (sql, parameters).

Every value travels as a server-side parameter; regular expressions are evaluated by ClickHouse's
match() (RE2, linear time), never by Python's re.

Patterns: a line keeps the template id it was mined with; syslog_patterns.current_id points the older ids of
a cluster at its newest template. FOLD (with FOLD_WITH and FOLD_JOIN) is that pointer applied: one pattern,
one id, however its template evolved. The summary groups by it, and a template filter selects by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from query_mcp.sql.filters import keyset
from schemas.tables import SYSLOG, SYSLOG_PATTERNS, SYSLOG_RAW, SYSLOG_RAW_PARTS

FILTER_COLUMNS = {
    "level_filter": "level",
    "host_filter": "host",
    "tag_filter": "tag",
    "message_filter": "message",
}
SORT_KEY = (
    ("s.received_at", "DateTime64(6, 'UTC')"),
    ("s.kafka_partition", "UInt16"),
    ("s.kafka_offset", "UInt64"),
    ("s.line_no", "UInt32"),
)
"""The order of search_syslog: time, then the line's place in the raw topic (unique per line)."""
RAW_PARTS = f"({', '.join(f's.{column}' for column in SYSLOG_RAW_PARTS)})"
"""What the raw ALIAS is rebuilt from: an aggregate picks this tuple and raw_of rebuilds it once."""
_COLUMN = re.compile(rf"\b({'|'.join(SYSLOG_RAW_PARTS)})\b")
FOLD = "if(cur.current_id = 0, s.template_id, cur.current_id)"
FOLD_JOIN = "LEFT JOIN cur ON s.template_id = cur.template_id"


def fold_with(db: str) -> str:
    """The CTE FOLD reads: each template id's newest current_id."""
    return (
        "cur AS (SELECT template_id, argMax(current_id, updated_at) AS current_id "
        f"FROM {db}.{SYSLOG_PATTERNS} GROUP BY template_id)"
    )


@dataclass(frozen=True, slots=True)
class SyslogFilter:
    """The window and filters shared by the syslog tools; template_ids: every id of one pattern."""

    start: datetime
    end: datetime
    level_filter: str = ""
    host_filter: str = ""
    tag_filter: str = ""
    message_filter: str = ""
    template_ids: tuple[int, ...] = ()


def raw_of(parts: str) -> str:
    """raw rebuilt from a RAW_PARTS tuple: the table's ALIAS (SYSLOG_RAW) over the tuple's elements."""
    element = {column: f"{parts}.{i}" for i, column in enumerate(SYSLOG_RAW_PARTS, 1)}
    return _COLUMN.sub(lambda found: element[found.group(0)], SYSLOG_RAW)


def where(f: SyslogFilter, window: bool = True) -> tuple[list[str], dict[str, object]]:
    """The filters as clauses on alias s; without window, the time bounds are the caller's."""
    clauses: list[str] = []
    params: dict[str, object] = {}
    if window:
        clauses += ["s.received_at >= {start:DateTime64(6, 'UTC')}", "s.received_at <= {end:DateTime64(6, 'UTC')}"]
        params |= {"start": f.start, "end": f.end}
    for arg, column in FILTER_COLUMNS.items():
        pattern = getattr(f, arg)
        if pattern:
            clauses.append(f"match(s.{column}, {{{arg}:String}})")
            params[arg] = pattern
    if f.template_ids:
        clauses.append("s.template_id IN {template_ids:Array(UInt64)}")
        params["template_ids"] = list(f.template_ids)
    return clauses, params


def search_sql(
    db: str, f: SyslogFilter, limit: int, newest_first: bool, after: tuple[object, ...] = ()
) -> tuple[str, dict[str, object]]:
    """Lines in the window, oldest first like TWSNMP FK unless newest_first, after the key of a cursor; the
    sort key's columns come last."""
    clauses, params = where(f)
    if after:
        more, key_params = keyset(SORT_KEY, after, newest_first)
        clauses += more
        params |= key_params
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT s.received_at, s.level, s.host, s.type, s.tag, s.message, s.severity, s.facility, "
        "s.event_time, s.source, s.pid, s.msgid, s.structured_data, s.template_id, s.parse_error, "
        "s.compliance, s.parse_issues, s.kafka_partition, s.kafka_offset, s.line_no "
        f"FROM {db}.{SYSLOG} AS s WHERE {' AND '.join(clauses)} "
        f"ORDER BY {', '.join(f'{column} {order}' for column, _ in SORT_KEY)} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def count_sql(db: str, f: SyslogFilter) -> tuple[str, dict[str, object]]:
    """How many lines the search matches, whatever its limit."""
    clauses, params = where(f)
    return f"SELECT count() FROM {db}.{SYSLOG} AS s WHERE {' AND '.join(clauses)}", params


def summary_sql(db: str, f: SyslogFilter, top_n: int) -> tuple[str, dict[str, object]]:
    """Counts per pattern in the window, the biggest first, with its commonest hosts."""
    clauses, params = where(f)
    sql = (
        f"WITH {fold_with(db)} "
        f"SELECT {FOLD} AS tid, count() AS n, "
        "min(s.received_at) AS first_seen, max(s.received_at) AS last_seen, "
        f"topK(1)(s.level)[1] AS level, {raw_of(f'argMax({RAW_PARTS}, s.received_at)')} AS example, "
        "uniqExact(s.host) AS hosts, topK(3)(s.host) AS top_hosts "
        f"FROM {db}.{SYSLOG} AS s {FOLD_JOIN} "
        f"WHERE {' AND '.join(clauses)} GROUP BY tid ORDER BY n DESC, tid LIMIT {{top_n:UInt32}}"
    )
    params["top_n"] = top_n
    return sql, params


def first_seen_sql(db: str, ids: list[int]) -> tuple[str, dict[str, object]]:
    """When each pattern (a FOLD id) was first seen ever: its earliest stored line or the miner's first sight of
    any of its template ids, whichever is older (lines past retention are gone; the miner remembers them)."""
    sql = (
        f"WITH {fold_with(db)}, "
        f"mined AS (SELECT if(argMax(current_id, updated_at) = 0, template_id, argMax(current_id, updated_at)) AS tid, "
        f"min(first_seen) AS at FROM {db}.{SYSLOG_PATTERNS} GROUP BY template_id), "
        f"stored AS (SELECT {FOLD} AS tid, min(s.received_at) AS at FROM {db}.{SYSLOG} AS s {FOLD_JOIN} "
        "WHERE s.template_id IN (SELECT template_id FROM cur WHERE current_id IN {ids:Array(UInt64)}) "
        "OR s.template_id IN {ids:Array(UInt64)} GROUP BY tid) "
        "SELECT tid, min(at) FROM (SELECT tid, at FROM stored UNION ALL SELECT tid, min(at) FROM mined GROUP BY tid) "
        "WHERE tid IN {ids:Array(UInt64)} GROUP BY tid"
    )
    return sql, {"ids": ids}


def current_id_sql(db: str, template_id: int) -> tuple[str, dict[str, object]]:
    """The pattern (FOLD id) a template id belongs to; 0 when it was never re-pointed (it is its own)."""
    sql = f"SELECT argMax(current_id, updated_at) FROM {db}.{SYSLOG_PATTERNS} WHERE template_id = {{tid:UInt64}}"
    return sql, {"tid": template_id}


def members_sql(db: str, pattern_id: int) -> tuple[str, dict[str, object]]:
    """Every template id whose lines count towards a pattern (FOLD id)."""
    sql = (
        f"WITH {fold_with(db)} SELECT template_id FROM cur "
        "WHERE if(current_id = 0, template_id, current_id) = {tid:UInt64}"
    )
    return sql, {"tid": pattern_id}


def templates_sql(db: str, ids: list[int]) -> tuple[str, dict[str, object]]:
    """The newest text of each template id."""
    sql = (
        "SELECT template_id, argMax(template, updated_at) "
        f"FROM {db}.{SYSLOG_PATTERNS} WHERE template_id IN {{ids:Array(UInt64)}} GROUP BY template_id"
    )
    return sql, {"ids": ids}


def new_patterns_sql(
    db: str, f: SyslogFilter, baseline_start: datetime | None, top_n: int
) -> tuple[str, dict[str, object]]:
    """Patterns with lines in the window and none (under the same filters) in the baseline, [baseline_start,
    start) or everything stored before start; the biggest first."""
    clauses, params = where(f)
    base, base_params = where(f, window=False)
    base.append("s.received_at < {start:DateTime64(6, 'UTC')}")
    if baseline_start is not None:
        base.append("s.received_at >= {baseline_start:DateTime64(6, 'UTC')}")
        params["baseline_start"] = baseline_start
    params |= base_params
    sql = (
        f"WITH {fold_with(db)} "
        f"SELECT {FOLD} AS tid, count() AS n, min(s.received_at), max(s.received_at), "
        f"{raw_of(f'argMin({RAW_PARTS}, s.received_at)')}, "
        "topK(1)(s.level)[1], uniqExact(s.host), topK(5)(s.host) "
        f"FROM {db}.{SYSLOG} AS s {FOLD_JOIN} WHERE {' AND '.join(clauses)} GROUP BY tid "
        f"HAVING tid NOT IN (SELECT DISTINCT {FOLD} FROM {db}.{SYSLOG} AS s {FOLD_JOIN} WHERE {' AND '.join(base)}) "
        "ORDER BY n DESC, tid LIMIT {top_n:UInt32}"
    )
    params["top_n"] = top_n
    return sql, params
