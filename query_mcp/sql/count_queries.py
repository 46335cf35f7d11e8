"""SQL for the counting tools (count_*, find_*_spikes): lines per key, per time bucket, against a baseline.
Pure: (sql, parameters).

A Source names a log table, its time column and the keys it can be grouped by (expressions fixed here,
never taken from arguments); the filters arrive as clauses built by the log's own query module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from query_mcp.sql.syslog_queries import FOLD, FOLD_JOIN, fold_with
from schemas.tables import EVENT_LOG, SNMP_TRAPS, SYSLOG


@dataclass(frozen=True, slots=True)
class Source:
    with_sql: str
    """A WITH clause the keys need, or blank."""
    from_sql: str
    time: str
    keys: Mapping[str, str]


def syslog_source(db: str) -> Source:
    keys = {"host": "s.host", "level": "s.level", "tag": "s.tag", "pattern": FOLD, "all": "'all'"}
    return Source(f"WITH {fold_with(db)} ", f"{db}.{SYSLOG} AS s {FOLD_JOIN}", "s.received_at", keys)


def trap_source(db: str) -> Source:
    keys = {"type": "if(t.trap_name != '', t.trap_name, t.trap_oid)", "sender": "t.source", "all": "'all'"}
    return Source("", f"{db}.{SNMP_TRAPS} AS t", "t.received_at", keys)


def event_source(db: str) -> Source:
    keys = {"node": "e.node_name", "level": "e.level", "type": "e.type", "all": "'all'"}
    return Source("", f"{db}.{EVENT_LOG} AS e FINAL", "e.time", keys)


def _window(src: Source, start_param: str = "start") -> list[str]:
    return [f"{src.time} >= {{{start_param}:DateTime64(6, 'UTC')}}", f"{src.time} <= {{end:DateTime64(6, 'UTC')}}"]


def top_sql(
    src: Source, by: str, clauses: list[str], params: dict[str, object], start: datetime, end: datetime, top_n: int
) -> tuple[str, dict[str, object]]:
    """The top_n keys by lines in [start, end], the biggest first; every row also carries the number of keys and
    lines matched in all (window functions over the grouped result)."""
    where = " AND ".join(_window(src) + clauses)
    sql = (
        f"{src.with_sql}SELECT toString(k), n, count() OVER (), sum(n) OVER () FROM "
        f"(SELECT {src.keys[by]} AS k, count() AS n FROM {src.from_sql} WHERE {where} GROUP BY k) "
        "ORDER BY n DESC, k LIMIT {top_n:UInt32}"
    )
    return sql, params | {"start": start, "end": end, "top_n": top_n}


def buckets_sql(
    src: Source,
    by: str,
    clauses: list[str],
    params: dict[str, object],
    start: datetime,
    end: datetime,
    bucket_seconds: int,
    keys: list[str],
) -> tuple[str, dict[str, object]]:
    """Lines per key and time bucket in [start, end] for the given keys (as toString of the key)."""
    where = " AND ".join([*_window(src), *clauses, f"toString({src.keys[by]}) IN {{keys:Array(String)}}"])
    sql = (
        f"{src.with_sql}SELECT toString({src.keys[by]}) AS k, "
        f"toStartOfInterval({src.time}, toIntervalSecond({{bucket:UInt32}}), 'UTC') AS b, count() "
        f"FROM {src.from_sql} WHERE {where} GROUP BY k, b"
    )
    return sql, params | {"start": start, "end": end, "bucket": bucket_seconds, "keys": keys}


def spikes_sql(
    src: Source,
    by: str,
    clauses: list[str],
    params: dict[str, object],
    window: tuple[datetime, datetime],
    baseline_start: datetime,
    direction: str,
    top_n: int,
) -> tuple[str, dict[str, object]]:
    """Keys whose lines in the window depart from what their baseline rate, [baseline_start, start), predicts.

    expected = baseline lines scaled to the window's length; score = (count - expected) / sqrt(expected + 1), a
    Poisson-style z that ranks a jump from 0 to 50 above one from 1000 to 1100. direction: up, down or both.
    """
    start, end = window
    scale = (end - start).total_seconds() / max((start - baseline_start).total_seconds(), 1.0)
    where = " AND ".join(_window(src, "baseline_start") + clauses)
    keep, order = {
        "up": ("score > 0", "score DESC"),
        "down": ("score < 0", "score ASC"),
        "both": ("score != 0", "abs(score) DESC"),
    }[direction]
    sql = (
        f"{src.with_sql}SELECT toString(k), c, b, e, score FROM (SELECT {src.keys[by]} AS k, "
        f"countIf({src.time} >= {{start:DateTime64(6, 'UTC')}}) AS c, "
        f"countIf({src.time} < {{start:DateTime64(6, 'UTC')}}) AS b, b * {{scale:Float64}} AS e, "
        f"(c - e) / sqrt(e + 1) AS score FROM {src.from_sql} WHERE {where} GROUP BY k) "
        f"WHERE {keep} ORDER BY {order}, k LIMIT {{top_n:UInt32}}"
    )
    return sql, params | {
        "start": start,
        "end": end,
        "baseline_start": baseline_start,
        "scale": scale,
        "top_n": top_n,
    }
