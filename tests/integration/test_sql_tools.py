"""run_select_query, list_tables and describe_table on embedded ClickHouse (chdb), through the mcp SDK's
in-memory client: every attack of issue 5 refused with its message and nothing changed afterwards;
analyst queries answered, with truncation stated."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from mcp import Client
from mcp.server import MCPServer

from common import migrations
from query_mcp.auth import caller
from query_mcp.auth.scopes import Principal
from query_mcp.sql import tools
from query_mcp.sql.guard import (
    ALLOWED_TABLE_FUNCTIONS,
    DENIED_TABLE_FUNCTIONS,
    ORDINARY_TOO,
    SqlRejected,
    check_query_tree,
    tree_query,
)
from query_mcp.sql.tools import MIB, SqlLimits
from query_mcp.store import Store
from schemas.tables import SYSLOG_COLUMNS, SYSLOG_PATTERN_COLUMNS

pytestmark = pytest.mark.integration

DB = f"sqltools_{uuid.uuid4().hex[:8]}"
OTHER = f"{DB}_other"
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # inside the tables' TTL
HOSTS = {"r1": (12, 1), "r2": (8, 2), "r3": (5, 1)}  # host: (lines, template id)
TEMPLATES = {1: "link <*> down", 2: "user <*> logged in"}
MAX_ROWS = 20


@dataclass
class World:
    admin: Any
    store: Store
    server: MCPServer
    files: Path


def _syslog_rows() -> list[list[Any]]:
    """Rows by column name, put in SYSLOG_COLUMNS order (a column added to the table needs a value here)."""
    rows, offset = [], 0
    for host, (count, template_id) in HOSTS.items():
        for i in range(count):
            at = BASE + timedelta(seconds=offset)
            message = f"link Gi0/{i} down" if template_id == 1 else f"user u{i} logged in"
            row = {
                "received_at": at, "event_time": at, "source": "10.0.0.1", "transport": "udp", "host": host,
                "facility": 3, "severity": 3, "level": "low", "type": "err:daemon", "tag": "ifmgr", "pid": "",
                "msgid": "", "structured_data": "", "message": message, "template_id": template_id,
                "parse_error": False, "ingest_flags": 0, "raw_head": "", "raw_tail": "", "raw_whole": False,
                "kafka_partition": 0, "kafka_offset": offset, "line_no": 0, "compliance": "rfc3164", "parse_issues": [],
            }  # fmt: skip
            rows.append([row[column] for column in SYSLOG_COLUMNS])
            offset += 1
    return rows


@pytest.fixture(scope="module")
def world(chdb_path, tmp_path_factory) -> World:
    admin = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    migrations.apply(admin, DB, 30)
    admin.insert(f"{DB}.syslog", _syslog_rows(), column_names=list(SYSLOG_COLUMNS))
    admin.insert(
        f"{DB}.syslog_patterns",
        [[tid, text, 0, BASE, BASE] for tid, text in TEMPLATES.items()],
        column_names=list(SYSLOG_PATTERN_COLUMNS),
    )
    admin.command(f"CREATE DATABASE {OTHER}")
    admin.command(f"CREATE TABLE {OTHER}.secrets (host String, secret String) ENGINE = MergeTree ORDER BY host")
    admin.insert(f"{OTHER}.secrets", [["r1", "s3cr3t"]], column_names=["host", "secret"])
    files = tmp_path_factory.mktemp("sqlfiles")
    (files / "secret.txt").write_text("s3cr3t\n")
    store = Store(f"chdb://{chdb_path}", DB, 30, size=2)
    server = MCPServer(name="netobs-sql-test")
    tools.register(server, store, SqlLimits(max_result_rows=MAX_ROWS))
    return World(admin=admin, store=store, server=server, files=files)


async def call(server: MCPServer, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
    async with Client(server) as client:
        result = await client.call_tool(tool, args)
    return result.is_error, result.content[0].text


async def answer(server: MCPServer, query: str) -> dict[str, Any]:
    is_error, text = await call(server, "run_select_query", {"query": query})
    assert not is_error, f"{query}: {text}"
    return json.loads(text)


def snapshot(world: World) -> dict[str, Any]:
    """Everything an attack could change: row counts, the tables of both databases, files."""
    count = world.admin.query
    return {
        "syslog": count(f"SELECT count() FROM {DB}.syslog").result_rows[0][0],
        "patterns": count(f"SELECT count() FROM {DB}.syslog_patterns").result_rows[0][0],
        "secrets": count(f"SELECT count(), any(secret) FROM {OTHER}.secrets").result_rows[0],
        "tables": count(
            "SELECT database, name FROM system.tables WHERE database IN ({a:String}, {b:String}) ORDER BY ALL",
            parameters={"a": DB, "b": OTHER},
        ).result_rows,
        "files": sorted(p.name for p in world.files.iterdir()),
    }


def attacks(files: Path) -> list[tuple[str, str]]:
    return [
        (f"INSERT INTO {DB}.syslog SELECT * FROM {DB}.syslog", "only SELECT queries are allowed; found INSERT"),
        (f"ALTER TABLE {DB}.syslog DELETE WHERE 1", "only SELECT queries are allowed; found ALTER"),
        (f"DROP TABLE {DB}.syslog", "only SELECT queries are allowed; found DROP"),
        (f"CREATE TABLE {DB}.x (a UInt8) ENGINE = Memory", "only SELECT queries are allowed; found CREATE"),
        (f"TRUNCATE TABLE {DB}.syslog", "only SELECT queries are allowed; found TRUNCATE"),
        (f"OPTIMIZE TABLE {DB}.syslog FINAL", "only SELECT queries are allowed; found OPTIMIZE"),
        ("SYSTEM FLUSH LOGS", "only SELECT queries are allowed; found SYSTEM"),
        ("KILL QUERY WHERE 1", "only SELECT queries are allowed; found KILL"),
        ("SET readonly = 0", "only SELECT queries are allowed; found SET"),
        ("SELECT count() FROM syslog SETTINGS readonly = 0", "SETTINGS clauses are not allowed"),
        ("SELECT count() FROM syslog SETTINGS max_execution_time = 0", "SETTINGS clauses are not allowed"),
        (f"SELECT 1; DROP TABLE {DB}.syslog", "only one statement is accepted"),
        # chdb runs every statement of this string, the INSERT without the per-call readonly=1 (measured)
        (f"SELECT 1; INSERT INTO {DB}.syslog SELECT * FROM {DB}.syslog; SELECT 2", "only one statement"),
        (f"SELECT 1 /* harmless */; TRUNCATE TABLE {DB}.syslog -- gone", "only one statement"),
        (f"SELECT 1 -- \n; DROP TABLE {DB}.syslog_patterns", "only one statement"),
        (f"SELECT 1 /* unclosed ; DROP TABLE {DB}.syslog", "a /* comment is not closed"),
        ("SELECT * FROM system.users", "database system is not accessible; tables are in " + DB),
        ("SELECT name FROM system.tables", "database system is not accessible"),
        ("SELECT * FROM information_schema.tables", "database information_schema is not accessible"),
        ("SELECT * FROM INFORMATION_SCHEMA.TABLES", "database INFORMATION_SCHEMA is not accessible"),
        ("SELECT * FROM `system`.`users`", "database system is not accessible"),
        ('SELECT * FROM "system"."tables"', "database system is not accessible"),
        ("SeLeCt * FrOm SyStEm.UsErS", "database SyStEm is not accessible"),
        (f"SELECT * FROM {OTHER}.secrets", f"database {OTHER} is not accessible; tables are in {DB}: list_tables"),
        (f"SELECT count() FROM syslog WHERE host IN (SELECT host FROM {OTHER}.secrets)", f"database {OTHER}"),
        (f"SELECT count() FROM syslog WHERE host IN {OTHER}.secrets", f"database {OTHER} is not accessible"),
        (f"SELECT * FROM file('{files}/secret.txt', 'LineAsString')", "table function file() is not allowed"),
        (f"SELECT file('{files}/secret.txt')", "function file() is not allowed"),
        ("SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", "table function url() is not allowed"),
        ("SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV')", "table function s3() is not allowed"),
        ("SELECT * FROM remote('127.0.0.1', system.one)", "table function remote() is not allowed"),
        ("SELECT * FROM mysql('127.0.0.1:9', 'd', 't', 'u', 'p')", "table function mysql() is not allowed"),
        ("SELECT * FROM executable('id', 'TSV', 'x String')", "table function executable() is not allowed"),
        ("SELECT dictGet('d', 'a', 1)", "function dictGet() is not allowed"),
        ("SELECT * FROM numbers(1) AS a JOIN numbers(1) AS b ON 1 = 1, null('x UInt8') AS n", "null() is not"),
        # chdb writes this file even with readonly=1 (measured): only the guard stops it
        (f"SELECT * FROM syslog INTO OUTFILE '{files}/out.csv'", "INTO OUTFILE is not allowed"),
        ("SELECT * FROM syslog FORMAT CSV", "FORMAT clauses are not allowed"),
        ("SELECT\u00a0*\u00a0FROM\u00a0system.users", "non-ASCII character U+00A0"),
        ("SELECT 1\u2028; DROP TABLE x", "non-ASCII character U+2028"),
        ("SELECT " + "1 + " * 6000 + "1", "at most 20000 are accepted"),
        # hardening issue: the tokenizer lost the query level, ClickHouse ran the scalar subquery in the check
        (
            "((SELECT throwIf(number = 2, 'ran in the check') FROM numbers(3)) UNION ALL SELECT number FROM primes(3))",
            "table function primes() is not allowed",
        ),
        (
            f"((SELECT 1) UNION ALL SELECT 1 FROM mergeTreeAnalyzeIndexes('{DB}', 'syslog'))",
            "table function mergeTreeAnalyzeIndexes() is not allowed",
        ),
        # hardening issue, finding 8: functions that reveal the host or the server's settings
        ("SELECT getSetting('max_memory_usage')", "function getSetting() is not allowed: it reveals the server"),
        ("SELECT hostName()", "function hostName() is not allowed"),
        ("SELECT FQDN()", "function FQDN() is not allowed"),
        ("SELECT serverUUID()", "function serverUUID() is not allowed"),
        ("SELECT count() FROM syslog WHERE host = hostname()", "function hostname() is not allowed"),
    ]


async def test_attacks_refused_and_nothing_changed(world):
    before = snapshot(world)
    for query, message in attacks(world.files):
        is_error, text = await call(world.server, "run_select_query", {"query": query})
        assert is_error, f"accepted: {query!r} -> {text}"
        assert message in text, f"{query!r}: {text}"
    assert snapshot(world) == before
    assert before["syslog"] == sum(n for n, _ in HOSTS.values())
    assert (DB, "syslog") in before["tables"] and (OTHER, "secrets") in before["tables"]
    # The syslog tools' own clients were never touched by a read-only session.
    assert await world.store.rows(f"SELECT count() FROM {DB}.syslog", {}) == [(before["syslog"],)]


async def test_session_locked_read_only_even_for_what_passes_the_guard(world):
    """Layer 3 alone: a multi-statement write sent straight to a locked session is refused by ClickHouse."""
    before = snapshot(world)
    pool = world.store.read_only_pool(SqlLimits().run_settings(), size=1)
    with pytest.raises(Exception, match="readonly"):
        await pool.select(f"SELECT 1; INSERT INTO {DB}.syslog SELECT * FROM {DB}.syslog; SELECT 2")
    assert snapshot(world) == before
    # The settings, read past the guard (which refuses getSetting to callers): the locked session's own.
    fresh = world.store.read_only_pool(SqlLimits().run_settings(), size=1)
    settings = await fresh.select("SELECT getSetting('readonly') AS ro, getSetting('max_result_bytes') AS cap")
    assert [tuple(row) for row in settings.rows] == [(1, SqlLimits().max_result_bytes)]


async def test_clickhouse_analysis_names_tables_and_functions(world):
    """Layer 2 on this ClickHouse's real query tree, for queries the guard would refuse first."""
    checker = world.store.read_only_pool(SqlLimits().check_settings(), size=1)
    tree = await checker.text(
        tree_query(f"SELECT count() FROM syslog WHERE host IN (SELECT host FROM {OTHER}.secrets)")
    )
    with pytest.raises(SqlRejected, match=f"database {OTHER} is not accessible"):
        check_query_tree(tree, DB)
    tree = await checker.text(tree_query(f"SELECT count() FROM syslog WHERE host IN {OTHER}.secrets"))
    with pytest.raises(SqlRejected, match=f"database {OTHER} is not accessible"):
        check_query_tree(tree, DB)
    tree = await checker.text(tree_query("((SELECT 1) UNION ALL SELECT number FROM primes(3))"))
    with pytest.raises(SqlRejected, match=r"table function primes\(\) is not allowed"):
        check_query_tree(tree, DB)
    tree = await checker.text(tree_query("SELECT * FROM numbers(1) AS a, null('x UInt8') AS n"))
    with pytest.raises(SqlRejected, match=r"table function null\(\) is not allowed"):
        check_query_tree(tree, DB)
    tree = await checker.text(
        tree_query(
            "SELECT p.template, count() FROM syslog AS s JOIN syslog_patterns AS p USING (template_id)"
            f" WHERE s.host IN (SELECT host FROM {DB}.syslog) GROUP BY p.template"
        )
    )
    check_query_tree(tree, DB)
    assert "identifier: syslog_patterns" in tree


async def test_check_evaluates_nothing(world):
    """The check parses only: a scalar subquery is not run and no constant is folded into the tree."""
    checker = world.store.read_only_pool(SqlLimits().check_settings(), size=1)
    tree = await checker.text(tree_query("SELECT (SELECT throwIf(1, 'evaluated in the check'))"))
    check_query_tree(tree, DB)
    tree = await checker.text(tree_query("SELECT length((SELECT repeat('A', 1000000)))"))
    check_query_tree(tree, DB)
    assert "AAAA" not in tree and len(tree) < 10_000


async def test_tree_read_back_is_capped(world):
    """The check reads back at most max_tree_bytes: a longer tree is refused, not read."""
    server = MCPServer(name="netobs-sql-tree-cap")
    tools.register(server, world.store, SqlLimits(max_tree_bytes=4096))
    is_error, text = await call(server, "run_select_query", {"query": "SELECT " + ", ".join(["1"] * 200)})
    assert is_error and "parse tree is larger than" in text, text
    assert not (await call(server, "run_select_query", {"query": "SELECT 1"}))[0]


async def test_every_table_function_of_the_engine_is_allowed_or_refused(world):
    """A chdb upgrade that brings a new table function fails here until the guard names it."""
    names = {row[0].lower() for row in world.admin.query("SELECT name FROM system.table_functions").result_rows}
    unknown = names - ALLOWED_TABLE_FUNCTIONS - DENIED_TABLE_FUNCTIONS - ORDINARY_TOO
    assert not unknown


async def test_aggregation_over_syslog(world):
    result = await answer(world.server, "SELECT host, count() AS n FROM syslog GROUP BY host ORDER BY n DESC")
    assert result["columns"] == [{"name": "host", "type": "LowCardinality(String)"}, {"name": "n", "type": "UInt64"}]
    assert result["rows"] == [[host, n] for host, (n, _) in HOSTS.items()]
    assert result["row_count"] == 3 and result["truncated"] is False and result["truncated_reason"] is None


async def test_join_with_patterns(world):
    result = await answer(
        world.server,
        f"WITH cur AS (SELECT template_id, argMax(template, updated_at) AS template FROM {DB}.syslog_patterns "
        f"GROUP BY template_id) SELECT cur.template, count() AS n FROM {DB}.syslog AS s "
        "INNER JOIN cur USING (template_id) GROUP BY cur.template ORDER BY n DESC  -- patterns by volume\n;",
    )
    assert result["rows"] == [["link <*> down", 17], ["user <*> logged in", 8]]


async def test_limit_beyond_max_result_rows_is_truncated_and_says_so(world):
    result = await answer(world.server, "SELECT received_at, message FROM syslog ORDER BY received_at LIMIT 25")
    assert result["row_count"] == MAX_ROWS == len(result["rows"])
    assert result["truncated"] is True
    assert f"more than {MAX_ROWS} rows (max_result_rows)" in result["truncated_reason"]
    assert result["rows"][0] == [BASE.replace(tzinfo=None).isoformat(), "link Gi0/0 down"]
    assert result["columns"][0]["type"] == "DateTime64(6, 'UTC')"
    exact = await answer(world.server, f"SELECT number FROM numbers({MAX_ROWS})")
    assert exact["row_count"] == MAX_ROWS and exact["truncated"] is False


async def test_values_rendered_as_json(world):
    result = await answer(
        world.server,
        "SELECT toUInt64(18446744073709551615) AS big, toDecimal64(1.5, 3) AS dec, toUUID("
        "'00000000-0000-0000-0000-000000000001') AS id, toIPv4('10.0.0.1') AS ip, [1, 2] AS arr, "
        "map('k', 1) AS m, (1, 'x') AS tup, nan AS n, toDate('2025-01-02') AS d, NULL AS nothing",
    )
    assert result["rows"] == [
        ["18446744073709551615", "1.500", "00000000-0000-0000-0000-000000000001", "10.0.0.1", [1, 2], {"k": 1},
         [1, "x"], "nan", "2025-01-02", None]
    ]  # fmt: skip


async def test_explain_answers(world):
    result = await answer(world.server, "EXPLAIN indexes = 1 SELECT count() FROM syslog WHERE host = 'r1'")
    assert result["columns"] == [{"name": "explain", "type": "String"}]
    assert any("ReadFromMergeTree" in row[0] for row in result["rows"])


async def test_text_cap_cuts_rows_and_says_so(world):
    server = MCPServer(name="netobs-sql-small")
    tools.register(server, world.store, SqlLimits(max_text_bytes=1024))
    is_error, text = await call(server, "run_select_query", {"query": "SELECT raw, message FROM syslog"})
    assert not is_error, text
    result = json.loads(text)
    assert len(text.encode()) <= 1024
    assert result["truncated"] is True and "max_text_bytes" in result["truncated_reason"]
    assert 0 < result["row_count"] < sum(n for n, _ in HOSTS.values())


async def test_time_memory_and_size_limits_stop_queries_with_advice(world):
    server = MCPServer(name="netobs-sql-tight")
    limits = SqlLimits(max_execution_time=1, max_memory_bytes=64 * MIB, max_result_bytes=1 * MIB)
    tools.register(server, world.store, limits)
    cases = [
        ("SELECT sum(cityHash64(number)) FROM numbers(100000000000)", "ran longer than 1 s (max_execution_time)"),
        ("SELECT groupArray(repeat(toString(number), 100)) FROM numbers(10000000)", "more than 64 MiB of memory"),
        ("SELECT materialize(repeat('x', 1000)) FROM numbers(5000)", "larger than 1 MiB (max_result_bytes)"),
    ]
    for query, message in cases:
        is_error, text = await call(server, "run_select_query", {"query": query})
        assert is_error and message in text, f"{query}: {text}"


async def test_list_tables(world):
    is_error, text = await call(world.server, "list_tables", {})
    assert not is_error, text
    tables = {t["name"]: t for t in json.loads(text)}
    assert {"syslog", "syslog_patterns", "schema_migrations"} <= set(tables)
    assert tables["syslog"]["rows"] == sum(n for n, _ in HOSTS.values())
    assert tables["syslog"]["engine"] == "MergeTree"
    assert "one row per received line" in tables["syslog"]["description"]
    assert "secrets" not in tables


async def test_describe_table(world):
    is_error, text = await call(world.server, "describe_table", {"table": "syslog"})
    assert not is_error, text
    table = json.loads(text)
    columns = {c["name"]: c for c in table["columns"]}
    assert sorted(columns) == sorted([*SYSLOG_COLUMNS, "raw"])  # raw: an ALIAS, not an insert column
    assert "exactly as received" in columns["raw"]["comment"]
    assert all(c["comment"] for c in table["columns"])
    assert columns["received_at"]["type"] == "DateTime64(6, 'UTC')"
    assert "TWSNMP" in columns["level"]["comment"]
    assert "received_at" in table["sorting_key"] and table["partition_key"] == "toYYYYMMDD(received_at)"
    is_error, text = await call(world.server, "describe_table", {"table": "secrets"})
    assert is_error and f"unknown table 'secrets'; tables in {DB}:" in text and "syslog_patterns" in text
    is_error, text = await call(world.server, "describe_table", {"table": "system.users"})
    assert is_error and "unknown table 'system.users'" in text


async def _call_as(principal: str, server: MCPServer, query: str) -> tuple[bool, str]:
    """run_select_query as `principal`, the way the MCP guard sets the caller of a tool."""
    who = caller.Caller(Principal(principal, frozenset({"read:sql"}), "token"), "127.0.0.1", "test")
    token = caller.current.set(who)
    try:
        return await call(server, "run_select_query", {"query": query})
    finally:
        caller.current.reset(token)


async def test_one_credential_cannot_starve_the_others(world):
    """Hardening issue: two slow queries of one token held both sessions and another caller's SELECT 1 waited
    27 s. Now one credential runs one query at a time, and queries waiting for a session hold no thread the
    search tools need: another caller's query and a search both finish before the busy caller's first query.
    The busy caller queues as many queries as the default executor has threads (sleeping, to spare the CPU)."""
    finished: list[str] = []
    refused: list[int] = []
    slow = "SELECT sum(sleepEachRow(0.25)) FROM numbers(4)"  # 1 s

    async def busy(i: int) -> None:
        is_error, text = await _call_as("busy", world.server, slow)
        if is_error:
            assert "already waiting for their turn" in text, text
            refused.append(i)
        else:
            finished.append(f"busy{i}")

    async def other() -> None:
        is_error, text = await _call_as("other", world.server, "SELECT 1")
        assert not is_error, text
        finished.append("other")

    async def search() -> None:
        assert await world.store.rows(f"SELECT count() FROM {DB}.syslog", {})
        finished.append("search")

    count = min(32, (os.cpu_count() or 1) + 4)
    busy_calls = [asyncio.create_task(busy(i)) for i in range(count)]
    await asyncio.sleep(0.5)  # the busy caller's queries are running or queued
    await asyncio.gather(other(), search(), *busy_calls)
    first_busy = next(i for i, name in enumerate(finished) if name.startswith("busy"))
    assert {"other", "search"} <= set(finished[:first_busy]), finished
    # one runs, SqlLimits.waiting_per_credential wait, the rest are refused at once
    assert len(refused) == max(0, count - 1 - SqlLimits().waiting_per_credential), refused


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_checks_stay_within_the_memory_caps(world):
    """Hardening issue: the check evaluated a scalar subquery and printed its constant in full (220 MB twice at
    once took the process from 0.6 to 4.0 GB). Now only the query itself holds memory, within its caps. With an
    80 MB constant the process grew by about 1 GiB before the fix and by about 0.4 GiB after (measured: the
    run itself, mostly memory ClickHouse does not count against max_memory_usage)."""
    query = "SELECT length((SELECT arrayStringConcat(groupArray(repeat('A', 1000000))) FROM numbers(80)))"
    before = _rss_bytes()
    answers = await asyncio.gather(*(call(world.server, "run_select_query", {"query": query}) for _ in range(2)))
    growth = _rss_bytes() - before
    for is_error, text in answers:
        assert is_error or json.loads(text)["rows"] == [[80_000_000]], text
    assert growth < 640 * MIB, f"the process grew by {growth // MIB} MiB"
