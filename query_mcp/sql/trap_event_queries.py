"""SQL for search_snmp_trap_log and search_event_log, built from validated arguments. Pure: (sql, parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from query_mcp.sql.filters import keyset, regex_clauses, where
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
TRAP_KEY = (
    ("t.received_at", "DateTime64(6, 'UTC')"),
    ("t.kafka_partition", "UInt16"),
    ("t.kafka_offset", "UInt64"),
    ("t.seq", "UInt32"),
)
EVENT_KEY = (("e.time", "DateTime64(6, 'UTC')"), ("e.id", "String"))


def _window(column: str, start: datetime, end: datetime) -> tuple[list[str], dict[str, object]]:
    return (
        [f"{column} >= {{start:DateTime64(6, 'UTC')}}", f"{column} <= {{end:DateTime64(6, 'UTC')}}"],
        {"start": start, "end": end},
    )


def trap_clauses(start: datetime, end: datetime, filters: Mapping[str, str]) -> tuple[list[str], dict[str, object]]:
    """The window and filters of a trap query, on alias t."""
    clauses, params = _window("t.received_at", start, end)
    more, patterns = regex_clauses(filters, TRAP_FILTERS)
    return clauses + more, params | patterns


def event_clauses(start: datetime, end: datetime, filters: Mapping[str, str]) -> tuple[list[str], dict[str, object]]:
    """The window and filters of an event log query, on alias e."""
    clauses, params = _window("e.time", start, end)
    more, patterns = regex_clauses(filters, EVENT_FILTERS)
    return clauses + more, params | patterns


def traps_count_sql(
    db: str, start: datetime, end: datetime, filters: Mapping[str, str]
) -> tuple[str, dict[str, object]]:
    clauses, params = trap_clauses(start, end, filters)
    return f"SELECT count() FROM {db}.{SNMP_TRAPS} AS t {where(clauses)}", params


def events_count_sql(
    db: str, start: datetime, end: datetime, filters: Mapping[str, str]
) -> tuple[str, dict[str, object]]:
    clauses, params = event_clauses(start, end, filters)
    return f"SELECT count() FROM {db}.{EVENT_LOG} AS e FINAL {where(clauses)}", params


def traps_sql(
    db: str,
    start: datetime,
    end: datetime,
    filters: Mapping[str, str],
    limit: int,
    newest_first: bool,
    after: tuple[object, ...] = (),
) -> tuple[str, dict[str, object]]:
    """Traps received in the window, oldest first like TWSNMP FK unless newest_first, after a cursor's key; the
    sender's node named; the sort key's columns last."""
    clauses, params = trap_clauses(start, end, filters)
    more: list[str] = []
    if after:
        more, key_params = keyset(TRAP_KEY, after, newest_first)
        params |= key_params
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT t.received_at, t.source, t.trap_name, t.trap_oid, t.variables, n.node_name, t.version, t.pdu, "
        "t.security_name, t.uptime, t.enterprise, t.agent_address, t.generic_trap, t.specific_trap, "
        "t.varbind_oids, t.varbind_names, t.varbind_types, t.varbind_values, t.kafka_partition, t.kafka_offset, t.seq "
        f"FROM {db}.{SNMP_TRAPS} AS t "
        f"LEFT JOIN (SELECT ip, argMin(name, id) AS node_name FROM {db}.{NODES} FINAL WHERE deleted = 0 GROUP BY ip) "
        f"AS n ON n.ip = t.source {where(clauses + more)} "
        f"ORDER BY {', '.join(f'{c} {order}' for c, _ in TRAP_KEY)} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def events_sql(
    db: str,
    start: datetime,
    end: datetime,
    filters: Mapping[str, str],
    limit: int,
    newest_first: bool,
    after: tuple[object, ...] = (),
) -> tuple[str, dict[str, object]]:
    """Event log entries in the window (FINAL: a replayed event replaced itself), oldest first unless newest_first,
    after a cursor's key."""
    clauses, params = event_clauses(start, end, filters)
    more: list[str] = []
    if after:
        more, key_params = keyset(EVENT_KEY, after, newest_first)
        params |= key_params
    order = "DESC" if newest_first else "ASC"
    sql = (
        "SELECT e.time, e.type, e.level, e.node_name, e.event, e.last_level, e.node_id, e.polling_id, "
        f"e.downtime_s, e.id FROM {db}.{EVENT_LOG} AS e FINAL {where(clauses + more)} "
        f"ORDER BY e.time {order}, e.id {order} LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params
