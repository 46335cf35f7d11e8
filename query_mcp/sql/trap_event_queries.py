"""SQL for search_snmp_trap_log and search_event_log, built from validated arguments. Pure: (sql, parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from query_mcp.sql.filters import regex_clauses, where
from schemas.tables import EVENT_LOG, NODES, SNMP_TRAPS

TRAP_FILTERS: dict[str, str | tuple[str, ...]] = {
    "from_filter": "t.source",
    "trap_type_filter": ("t.trap_name", "t.trap_oid"),
    "variable_filter": "t.variables",
}
EVENT_FILTERS: dict[str, str | tuple[str, ...]] = {
    "node_filter": "e.node_name",
    "type_filter": "e.type",
    "level_filter": "e.level",
    "event_filter": "e.event",
}


def _window(column: str, start: datetime, end: datetime) -> tuple[list[str], dict[str, object]]:
    return (
        [f"{column} >= {{start:DateTime64(6, 'UTC')}}", f"{column} <= {{end:DateTime64(6, 'UTC')}}"],
        {"start": start, "end": end},
    )


def traps_sql(
    db: str, start: datetime, end: datetime, filters: Mapping[str, str], limit: int, newest_first: bool
) -> tuple[str, dict[str, object]]:
    """Traps received in the window, oldest first like TWSNMP FK unless newest_first; the sender's node named."""
    clauses, params = _window("t.received_at", start, end)
    more, patterns = regex_clauses(filters, TRAP_FILTERS)
    params |= patterns
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT t.received_at, t.source, t.trap_name, t.trap_oid, t.variables, n.node_name, t.version, t.pdu, "
        "t.security_name, t.uptime, t.enterprise, t.agent_address, t.generic_trap, t.specific_trap, "
        "t.varbind_oids, t.varbind_names, t.varbind_types, t.varbind_values "
        f"FROM {db}.{SNMP_TRAPS} AS t "
        f"LEFT JOIN (SELECT ip, argMin(name, id) AS node_name FROM {db}.{NODES} FINAL WHERE deleted = 0 GROUP BY ip) "
        f"AS n ON n.ip = t.source {where(clauses + more)} "
        f"ORDER BY t.received_at {order}, t.seq {order} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def events_sql(
    db: str, start: datetime, end: datetime, filters: Mapping[str, str], limit: int, newest_first: bool
) -> tuple[str, dict[str, object]]:
    """Event log entries in the window (FINAL: a replayed event replaced itself), oldest first unless newest_first."""
    clauses, params = _window("e.time", start, end)
    more, patterns = regex_clauses(filters, EVENT_FILTERS)
    params |= patterns
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT e.time, e.type, e.level, e.node_name, e.event, e.last_level, e.node_id, e.polling_id, "
        f"e.downtime_s, e.id FROM {db}.{EVENT_LOG} AS e FINAL {where(clauses + more)} "
        f"ORDER BY e.time {order}, e.id {order} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params
