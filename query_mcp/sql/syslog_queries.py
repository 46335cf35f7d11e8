"""SQL for the syslog tools, built from validated arguments. Pure: returns (sql, parameters).

Every value travels as a server-side parameter; regular expressions are evaluated by ClickHouse's
match() (RE2, linear time), never by Python's re.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.tables import SYSLOG, SYSLOG_PATTERNS

FILTER_COLUMNS = {
    "level_filter": "level",
    "host_filter": "host",
    "tag_filter": "tag",
    "message_filter": "message",
}


@dataclass(frozen=True, slots=True)
class SyslogFilter:
    """The window and filters shared by search_syslog and get_syslog_summary."""

    start: datetime
    end: datetime
    level_filter: str = ""
    host_filter: str = ""
    tag_filter: str = ""
    message_filter: str = ""


def _where(f: SyslogFilter) -> tuple[str, dict[str, object]]:
    clauses = ["s.received_at >= {start:DateTime64(6, 'UTC')}", "s.received_at <= {end:DateTime64(6, 'UTC')}"]
    params: dict[str, object] = {"start": f.start, "end": f.end}
    for arg, column in FILTER_COLUMNS.items():
        pattern = getattr(f, arg)
        if pattern:
            clauses.append(f"match(s.{column}, {{{arg}:String}})")
            params[arg] = pattern
    return " AND ".join(clauses), params


def search_sql(db: str, f: SyslogFilter, limit: int, newest_first: bool) -> tuple[str, dict[str, object]]:
    """Lines in the window, oldest first like TWSNMP FK unless newest_first."""
    where, params = _where(f)
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT s.received_at, s.level, s.host, s.type, s.tag, s.message, s.severity, s.facility, "
        "s.event_time, s.source, s.pid, s.msgid, s.structured_data, s.template_id, s.parse_error "
        f"FROM {db}.{SYSLOG} AS s WHERE {where} "
        f"ORDER BY s.received_at {order} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def summary_sql(db: str, f: SyslogFilter, top_n: int) -> tuple[str, dict[str, object]]:
    """Counts per pattern in the window, the biggest first.

    Lines keep the template id they were mined with; syslog_patterns.current_id folds the older ids of a
    cluster into its newest template, so one pattern is counted once however its template evolved.
    """
    where, params = _where(f)
    sql = (
        "WITH cur AS (SELECT template_id, argMax(current_id, updated_at) AS current_id "
        f"FROM {db}.{SYSLOG_PATTERNS} GROUP BY template_id) "
        "SELECT if(cur.current_id = 0, s.template_id, cur.current_id) AS tid, count() AS n, "
        "min(s.received_at) AS first_seen, max(s.received_at) AS last_seen, "
        "topK(1)(s.level)[1] AS level, argMax(s.raw, s.received_at) AS example, "
        "uniqExact(s.host) AS hosts "
        f"FROM {db}.{SYSLOG} AS s LEFT JOIN cur ON s.template_id = cur.template_id "
        f"WHERE {where} GROUP BY tid ORDER BY n DESC, tid LIMIT {{top_n:UInt32}}"
    )
    params["top_n"] = top_n
    return sql, params


def templates_sql(db: str, ids: list[int]) -> tuple[str, dict[str, object]]:
    """The newest text of each template id."""
    sql = (
        "SELECT template_id, argMax(template, updated_at) "
        f"FROM {db}.{SYSLOG_PATTERNS} WHERE template_id IN {{ids:Array(UInt64)}} GROUP BY template_id"
    )
    return sql, {"ids": ids}
