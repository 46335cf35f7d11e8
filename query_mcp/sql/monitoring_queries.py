"""SQL for get_server_certificate_list and get_resource_monitor_list. Pure: (sql, parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from query_mcp.sql.filters import regex_clauses, where
from schemas.tables import CERTIFICATES, RESOURCE_MONITOR

RESOURCE_FILTERS = {"host_filter": "host", "process_filter": "process"}


def certificates_sql(db: str, limit: int) -> tuple[str, dict[str, object]]:
    """The certificate each server:port presented last (older serials of the same server are history)."""
    sql = (
        "SELECT server, port, serial, c_polling, c_subject, c_issuer, c_not_before, c_not_after, c_verified, "
        "c_error, fs, ls FROM (SELECT server, port, serial, anyLast(polling_id) AS c_polling, "
        "anyLast(subject) AS c_subject, anyLast(issuer) AS c_issuer, anyLast(not_before) AS c_not_before, "
        "anyLast(not_after) AS c_not_after, anyLast(verified) AS c_verified, anyLast(error) AS c_error, "
        "min(first_seen) AS fs, max(last_seen) AS ls "
        f"FROM {db}.{CERTIFICATES} GROUP BY server, port, serial) "
        "ORDER BY server, port, ls DESC LIMIT 1 BY server, port LIMIT {limit:UInt32}"
    )
    return sql, {"limit": limit}


def resource_sql(
    db: str, start: datetime, end: datetime, bucket_seconds: int, filters: Mapping[str, str], limit: int
) -> tuple[str, dict[str, object]]:
    """Per host and process, the samples of the window averaged over buckets of bucket_seconds, oldest first."""
    clauses, params = regex_clauses(filters, RESOURCE_FILTERS)
    window = ["time >= {start:DateTime64(6, 'UTC')}", "time <= {end:DateTime64(6, 'UTC')}"]
    sql = (
        "SELECT toStartOfInterval(time, toIntervalSecond({bucket:UInt32})) AS t, host, process, "
        "avg(cpu_percent), avg(memory_percent), avg(swap_percent), avg(disk_percent), avg(load1), "
        "max(rss_bytes), max(consumer_lag), avg(insert_rate), count() "
        f"FROM {db}.{RESOURCE_MONITOR} {where(window + clauses)} "
        "GROUP BY t, host, process ORDER BY t, host, process LIMIT {limit:UInt32}"
    )
    params |= {"start": start, "end": end, "bucket": bucket_seconds, "limit": limit}
    return sql, params
