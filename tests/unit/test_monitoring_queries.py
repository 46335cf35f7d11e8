"""SQL builders of the monitoring tools: user input only ever travels as a parameter; limits as documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from query_mcp.sql import address_queries, inventory_queries, monitoring_queries, trap_event_queries
from query_mcp.sql.filters import regex_clauses, where
from query_mcp.tools.args import window
from query_mcp.tools.inventory import _redacted, polling_csv
from query_mcp.tools.monitoring import bucket_seconds

EVIL = "x') OR 1=1; DROP TABLE netobs.nodes --{limit:UInt32}"
START = datetime(2025, 10, 27, tzinfo=UTC)
END = START + timedelta(hours=1)


def _all_filters(names) -> dict[str, str]:
    return {name: f"{EVIL}{name}" for name in names}


BUILDERS = [
    ("nodes", lambda f: inventory_queries.nodes_sql("db", f, 10), inventory_queries.NODE_FILTERS),
    ("networks", lambda f: inventory_queries.networks_sql("db", f, 10), inventory_queries.NETWORK_FILTERS),
    ("pollings", lambda f: inventory_queries.pollings_sql("db", f, 10), inventory_queries.POLLING_FILTERS),
    ("traps", lambda f: trap_event_queries.traps_sql("db", START, END, f, 100, False), trap_event_queries.TRAP_FILTERS),
    (
        "events",
        lambda f: trap_event_queries.events_sql("db", START, END, f, 100, True),
        trap_event_queries.EVENT_FILTERS,
    ),
    ("ip_list", lambda f: address_queries.ip_list_sql("db", f, 1000), address_queries.IP_LIST_FILTERS),
    (
        "resources",
        lambda f: monitoring_queries.resource_sql("db", START, END, 60, f, 10),
        monitoring_queries.RESOURCE_FILTERS,
    ),
]


@pytest.mark.parametrize(("label", "build", "columns"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_filters_are_parameters_never_sql_text(label, build, columns):
    filters = _all_filters(columns)
    sql, params = build(filters)
    assert EVIL not in sql and "DROP" not in sql
    for name, pattern in filters.items():
        assert f"{{{name}:String}}" in sql
        assert params[name] == pattern
    assert "{limit:UInt32}" in sql


@pytest.mark.parametrize(("label", "build", "columns"), BUILDERS, ids=[b[0] for b in BUILDERS])
def test_blank_filters_add_no_condition(label, build, columns):
    sql, params = build({name: "" for name in columns})
    assert "match(" not in sql
    assert not set(columns) & set(params)


def test_lookups_by_id_ip_and_mac_are_parameters():
    for sql, params, value in [
        (*inventory_queries.polling_log_sql("db", EVIL, 100), EVIL),
        (*inventory_queries.polling_known_sql("db", EVIL), EVIL),
        (*address_queries.macs_of_ip_sql("db", EVIL), EVIL),
        (*address_queries.nodes_of_ip_sql("db", EVIL), EVIL),
        (*address_queries.ips_of_mac_sql("db", EVIL), EVIL),
        (*address_queries.nodes_of_mac_sql("db", EVIL, [EVIL]), EVIL),
    ]:
        assert EVIL not in sql
        assert value in params.values() or [value] in params.values()


def test_windows_and_limits_are_typed_parameters():
    sql, params = trap_event_queries.events_sql("db", START, END, {}, 123, newest_first=True)
    assert "{start:DateTime64(6, 'UTC')}" in sql and "{end:DateTime64(6, 'UTC')}" in sql
    assert (params["start"], params["end"], params["limit"]) == (START, END, 123)
    assert "FINAL" in sql and "ORDER BY e.time DESC" in sql
    sql, _ = trap_event_queries.traps_sql("db", START, END, {}, 100, newest_first=False)
    assert "ORDER BY t.received_at ASC" in sql
    sql, params = monitoring_queries.resource_sql("db", START, END, 720, {}, 50)
    assert "toIntervalSecond({bucket:UInt32})" in sql and params["bucket"] == 720


def test_inventory_reads_final_and_skips_deleted():
    for sql, _ in (
        inventory_queries.nodes_sql("db", {}, 1),
        inventory_queries.networks_sql("db", {}, 1),
        inventory_queries.pollings_sql("db", {}, 1),
    ):
        assert "FINAL" in sql and "deleted = 0" in sql
    sql, _ = inventory_queries.nodes_sql("db", {}, 1)
    assert "'unknown'" in sql  # a node without a stored state


def test_a_filter_over_several_columns_matches_any_of_them():
    clauses, params = regex_clauses({"trap_type_filter": "linkDown"}, trap_event_queries.TRAP_FILTERS)
    assert clauses == [
        "(match(t.trap_name, {trap_type_filter:String}) OR match(t.trap_oid, {trap_type_filter:String}))"
    ]
    assert params == {"trap_type_filter": "linkDown"}
    assert where([]) == ""
    assert where(["a", "b"]) == "WHERE a AND b"


def test_bucket_seconds_whole_minutes():
    assert bucket_seconds(24 * 3600, 48) == 1800
    assert bucket_seconds(7200, 10) == 720
    assert bucket_seconds(60, 48) == 60  # never below a minute
    assert bucket_seconds(0, 10) == 60


def test_polling_csv_union_of_numeric_keys():
    text = polling_csv(
        [
            ("2025-10-27T00:02:00Z", "normal", {"rtt_ms": 1.25, "ttl": 64.0}),
            ("2025-10-27T00:01:00Z", "high", {"loss": 1.0}),
        ]
    )
    assert text.splitlines() == [
        "time,state,loss,rtt_ms,ttl",
        "2025-10-27T00:02:00Z,normal,,1.250000,64.000000",
        "2025-10-27T00:01:00Z,high,1.000000,,",
    ]
    assert polling_csv([]) == "time,state"
    assert polling_csv([("t", "normal", {"a,b": 1.0})]).splitlines()[0] == 'time,state,"a,b"'


def test_polling_params_redacted():
    assert _redacted({"url": "https://user:pw@example.com/x", "port": "443", "api_token": "t"}) == {
        "url": "https://***@example.com/x",
        "port": "443",
        "api_token": "***",
    }


def test_window_errors_name_the_argument():
    start, end = window("", "")
    assert timedelta(minutes=59) < end - start <= timedelta(hours=1, seconds=1)
    start, end = window("", "", default_start="-24h")
    assert end - start >= timedelta(hours=23, minutes=59)
    with pytest.raises(ToolError, match=r"^start_time: cannot read time"):
        window("soon", "")
    with pytest.raises(ToolError, match=r"^end_time: cannot read time"):
        window("-1h", "later")
    with pytest.raises(ToolError, match=r"^start_time .* is after end_time"):
        window("2025-10-27 02:00:00", "2025-10-27 01:00:00")
