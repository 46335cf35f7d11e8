"""SQL for the inventory tools (nodes, networks, pollings, polling log), built from validated arguments.

Pure: returns (sql, parameters). Inventory tables are ReplacingMergeTree projections read with FINAL,
deleted entities dropped; states come from node_state / polling_state, "unknown" where none is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from query_mcp.sql.filters import keyset, regex_clauses, where
from schemas.tables import NETWORKS, NODE_STATE, NODES, POLLING_LOG, POLLING_STATE, POLLINGS

NODE_FILTERS = {"name_filter": "name", "ip_filter": "ip", "state_filter": "state"}
NETWORK_FILTERS = {"name_filter": "name", "ip_filter": "ip"}
POLLING_FILTERS = {
    "type_filter": "kind",
    "name_filter": "name",
    "node_name_filter": "node_name",
    "state_filter": "state",
}


def nodes_sql(db: str, filters: Mapping[str, str], limit: int) -> tuple[str, dict[str, object]]:
    """Live nodes with their state, by name."""
    clauses, params = regex_clauses(filters, NODE_FILTERS)
    sql = (
        "SELECT id, name, ip, mac, state, x, y, icon, description, since FROM ("
        "SELECT n.id AS id, n.name AS name, n.ip AS ip, n.mac AS mac, n.x AS x, n.y AS y, n.icon AS icon, "
        "n.description AS description, if(s.node_id = '', 'unknown', s.state) AS state, s.since AS since "
        f"FROM {db}.{NODES} AS n FINAL "
        f"LEFT JOIN (SELECT node_id, state, since FROM {db}.{NODE_STATE} FINAL) AS s ON s.node_id = n.id "
        f"WHERE n.deleted = 0) {where(clauses)} ORDER BY name, id LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def networks_sql(db: str, filters: Mapping[str, str], limit: int) -> tuple[str, dict[str, object]]:
    """Live networks, by name."""
    clauses, params = regex_clauses(filters, NETWORK_FILTERS)
    sql = (
        "SELECT id, name, ip, ports, x, y, description "
        f"FROM {db}.{NETWORKS} FINAL {where(['deleted = 0', *clauses])} ORDER BY name, id LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


def pollings_sql(db: str, filters: Mapping[str, str], limit: int) -> tuple[str, dict[str, object]]:
    """Live pollings of live nodes (as TWSNMP FK, a polling whose node is gone is not listed), with state."""
    clauses, params = regex_clauses(filters, POLLING_FILTERS)
    sql = (
        "SELECT id, name, node_id, node_name, kind, level, state, logging, last_time, last_result, since, "
        "last_reason, params, interval_s FROM ("
        "SELECT p.id AS id, p.name AS name, p.node_id AS node_id, n.name AS node_name, p.kind AS kind, "
        "p.level AS level, if(s.polling_id = '', 'unknown', s.state) AS state, p.logging AS logging, "
        "s.last_time AS last_time, s.last_result AS last_result, s.since AS since, s.last_reason AS last_reason, "
        "p.params AS params, p.interval_s AS interval_s "
        f"FROM {db}.{POLLINGS} AS p FINAL "
        f"INNER JOIN (SELECT id, name FROM {db}.{NODES} FINAL WHERE deleted = 0) AS n ON n.id = p.node_id "
        "LEFT JOIN (SELECT polling_id, state, since, last_time, last_reason, last_result "
        f"FROM {db}.{POLLING_STATE} FINAL) AS s ON s.polling_id = p.id "
        f"WHERE p.deleted = 0) {where(clauses)} ORDER BY node_name, name, id LIMIT {{limit:UInt32}}"
    )
    params["limit"] = limit
    return sql, params


POLLING_LOG_KEY = (
    ("time", "DateTime64(6, 'UTC')"),
    ("kafka_partition", "UInt16"),
    ("kafka_offset", "UInt64"),
    ("seq", "UInt32"),
)


def polling_log_sql(
    db: str, polling_id: str, limit: int, after: tuple[object, ...] = ()
) -> tuple[str, dict[str, object]]:
    """The newest `limit` entries of one polling's log, newest first (TWSNMP FK reads its log backwards), after a
    cursor's key; the sort key's columns last."""
    clauses, params = keyset(POLLING_LOG_KEY, after, True) if after else ([], {})
    sql = (
        "SELECT time, state, values, texts, outcome, reason, duration_ms, error, kafka_partition, kafka_offset, seq "
        f"FROM {db}.{POLLING_LOG} WHERE {' AND '.join(['polling_id = {id:String}', *clauses])} "
        f"ORDER BY {', '.join(f'{c} DESC' for c, _ in POLLING_LOG_KEY)} LIMIT {{limit:UInt32}}"
    )
    return sql, params | {"id": polling_id, "limit": limit}


def polling_log_count_sql(db: str, polling_id: str) -> tuple[str, dict[str, object]]:
    return f"SELECT count() FROM {db}.{POLLING_LOG} WHERE polling_id = {{id:String}}", {"id": polling_id}


def polling_known_sql(db: str, polling_id: str) -> tuple[str, dict[str, object]]:
    """Whether a live polling has this id: tells "no such polling" from "nothing logged yet"."""
    return f"SELECT count() FROM {db}.{POLLINGS} FINAL WHERE id = {{id:String}} AND deleted = 0", {"id": polling_id}
