"""SQL for the address tools (IP list, IP and MAC info) over ip_address and nodes. Pure: (sql, parameters).

ip_address is an AggregatingMergeTree of ARP sightings: rows are folded with GROUP BY (min first seen,
max last seen). MACs are compared by their 12 hex digits, so any spelling a writer stored matches.
"""

from __future__ import annotations

from collections.abc import Mapping

from query_mcp.sql.filters import regex_clauses, where
from schemas.tables import IP_ADDRESS, NODES

IP_LIST_FILTERS = {"ip_filter": "ip", "mac_filter": "mac"}
MAX_PER_ADDRESS = 100
"""Most MACs listed for one IP (or IPs for one MAC): more means a proxy-ARP router or a flapping address."""


def mac_key(column: str) -> str:
    """SQL for a MAC column as 12 upper-case hex digits (00:00:0c:.., 0:0:c:.., 0000.0c12.3456 alike)."""
    groups = f"splitByRegexp('[:.-]', {column})"
    return f"upper(arrayStringConcat(arrayMap(g -> if(length(g) = 1, concat('0', g), g), {groups})))"


def _live_nodes_by_ip(db: str) -> str:
    return (
        f"SELECT ip, argMin(name, id) AS node_name, min(id) AS node_id FROM {db}.{NODES} FINAL "
        "WHERE deleted = 0 GROUP BY ip"
    )


def ip_list_sql(db: str, filters: Mapping[str, str], limit: int) -> tuple[str, dict[str, object]]:
    """IP/MAC pairs seen in ARP tables with the managed node of the IP, in address order."""
    clauses, params = regex_clauses(filters, IP_LIST_FILTERS)
    sql = (
        "SELECT a.ip, a.mac, a.fs, a.ls, a.lf, n.node_name, n.node_id FROM ("
        "SELECT ip, mac, min(first_seen) AS fs, max(last_seen) AS ls, anyLast(learnt_from) AS lf "
        f"FROM {db}.{IP_ADDRESS} {where(clauses)} GROUP BY ip, mac) AS a "
        f"LEFT JOIN ({_live_nodes_by_ip(db)}) AS n ON n.ip = a.ip "
        "ORDER BY toIPv6OrZero(a.ip), a.ip, a.mac LIMIT {limit:UInt32}"
    )
    params["limit"] = limit
    return sql, params


def macs_of_ip_sql(db: str, ip: str) -> tuple[str, dict[str, object]]:
    """The MACs seen with one IP, most recently seen first."""
    sql = (
        "SELECT mac, min(first_seen) AS fs, max(last_seen) AS ls, anyLast(learnt_from) AS lf "
        f"FROM {db}.{IP_ADDRESS} WHERE ip = {{ip:String}} GROUP BY mac ORDER BY ls DESC, mac "
        "LIMIT {limit:UInt32}"
    )
    return sql, {"ip": ip, "limit": MAX_PER_ADDRESS}


def ips_of_mac_sql(db: str, mac_hex: str) -> tuple[str, dict[str, object]]:
    """The IPs seen with one MAC (given as 12 upper-case hex digits), most recently seen first."""
    sql = (
        "SELECT ip, min(first_seen) AS fs, max(last_seen) AS ls, anyLast(learnt_from) AS lf "
        f"FROM {db}.{IP_ADDRESS} WHERE {mac_key('mac')} = {{mac:String}} GROUP BY ip ORDER BY ls DESC, ip "
        "LIMIT {limit:UInt32}"
    )
    return sql, {"mac": mac_hex, "limit": MAX_PER_ADDRESS}


def nodes_of_ip_sql(db: str, ip: str) -> tuple[str, dict[str, object]]:
    """Live nodes with this IP address."""
    sql = (
        f"SELECT id, name, mac FROM {db}.{NODES} FINAL WHERE deleted = 0 AND ip = {{ip:String}} "
        "ORDER BY id LIMIT {limit:UInt32}"
    )
    return sql, {"ip": ip, "limit": MAX_PER_ADDRESS}


def nodes_of_mac_sql(db: str, mac_hex: str, ips: list[str]) -> tuple[str, dict[str, object]]:
    """Live nodes with this MAC or one of these IPs; nodes that carry the MAC itself first."""
    by_mac = f"{mac_key('mac')} = {{mac:String}}"
    sql = (
        f"SELECT id, name, ip, {by_mac} AS by_mac FROM {db}.{NODES} FINAL "
        f"WHERE deleted = 0 AND ({by_mac} OR ip IN {{ips:Array(String)}}) ORDER BY by_mac DESC, id "
        "LIMIT {limit:UInt32}"
    )
    return sql, {"mac": mac_hex, "ips": ips, "limit": MAX_PER_ADDRESS}
