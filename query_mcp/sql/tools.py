"""run_select_query, list_tables and describe_table: read-only SQL for analysts, with hard limits.

A query is answered only after three checks agree: sql_guard's tokenizer (one SELECT, no settings, no
files, nothing outside netobs's database), ClickHouse's own parse (EXPLAIN QUERY TREE run_passes = 0 names
every table and function the query touches, running none), and a session locked with readonly=1 and fixed
limits. Rows come back as
JSON with their column names and types; anything cut off is said so, with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar

from clickhouse_connect.driver.exceptions import ClickHouseError
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from common.config import SQL_SESSIONS
from query_mcp.auth import caller
from query_mcp.sql.fair import FairGate, QueueFull
from query_mcp.sql.guard import GENERATORS, SqlRejected, check_query_tree, check_sql, tree_query
from query_mcp.store import Selected, Store
from schemas import tables

MIB = 1 << 20
T = TypeVar("T")
_MAX_EXACT_INT = 1 << 53  # beyond this a JSON number loses digits in many parsers; such values travel as strings
_MAX_TABLE_NAME = 256
_MAX_ERROR_CHARS = 600
_ENVELOPE_RESERVE = 512  # room for row_count, truncated and truncated_reason around the rows


@dataclass(frozen=True, slots=True)
class SqlLimits:
    """Hard limits of run_select_query. ClickHouse enforces the time, memory and row limits itself."""

    max_result_rows: int = 10_000
    max_result_bytes: int = 10 * MIB  # ClickHouse's max_result_bytes (throw): what one answer may read at most
    max_text_bytes: int = 1 * MIB  # the JSON text returned; rows beyond it are cut, and the cut is stated
    max_execution_time: int = 30
    max_query_chars: int = 20_000
    max_memory_bytes: int = 1024 * MIB  # ClickHouse's max_memory_usage per query
    max_tree_bytes: int = 4 * MIB  # the parse tree of the check; a tree of 20,000 characters of SQL is far smaller
    sessions: int = SQL_SESSIONS  # queries running at once, over all callers
    per_credential: int = 1  # of them, queries of one credential (mcp.sql_concurrency_per_credential)
    waiting_per_credential: int = 4  # queries of one credential waiting for their turn; more are refused

    def check_settings(self) -> dict[str, object]:
        """Session of the query-tree check: the query's own time and memory caps, and a cap on the tree read back
        (throw, not break: a tree cut short would be checked only in part)."""
        return {
            "max_execution_time": self.max_execution_time,
            "max_memory_usage": self.max_memory_bytes,
            "max_result_bytes": self.max_tree_bytes,
            "result_overflow_mode": "throw",
        }

    def run_settings(self) -> dict[str, object]:
        """Session that runs accepted queries.

        The `limit` setting caps the outermost result at one row more than max_result_rows, exactly, so a
        longer result is known to be longer and its first rows still come back. ClickHouse's max_result_rows
        is not used: with 'break' it stops only at a block boundary (65409 rows came back under a limit of 10,
        measured on chdb), with 'throw' it would refuse a query instead of answering with its first rows.
        max_result_bytes throws rather than breaks: 'break' would cut a result without anyone knowing.
        """
        return {
            "max_execution_time": self.max_execution_time,
            "max_memory_usage": self.max_memory_bytes,
            "limit": self.max_result_rows + 1,
            "max_result_bytes": self.max_result_bytes,
            "result_overflow_mode": "throw",
        }


TABLE_DOCS = {
    tables.SYSLOG: "Parsed syslog, one row per received line (time, host, level, tag, message, template_id).",
    tables.SYSLOG_PATTERNS: (
        "Log templates mined from syslog (Drain): template_id -> template text; current_id is the cluster's "
        "newest template. ReplacingMergeTree: use argMax(..., updated_at) or FINAL."
    ),
    tables.SNMP_TRAPS: "SNMP traps and informs, one row per notification, varbinds as parallel arrays and as text.",
    tables.POLLING_LOG: "Poll results of pollings with logging on, and every result that changed a state.",
    tables.EVENT_LOG: "State changes of pollings and nodes, and events added by tools. Read with FINAL.",
    tables.NODES: "Managed nodes as defined by the inventory; deleted ones keep a row (deleted = 1). Read with FINAL.",
    tables.POLLINGS: "Pollings (what is checked on which node, how often). Read with FINAL.",
    tables.NETWORKS: "Managed networks. Read with FINAL.",
    tables.POLLING_STATE: "Current state of each polling and its newest result (JSON). Read with FINAL.",
    tables.NODE_STATE: "Current state of each node: the worst of its pollings. Read with FINAL.",
    tables.IP_ADDRESS: "IP/MAC pairs learnt from ARP tables of polled agents. Read with GROUP BY ip, mac (or FINAL).",
    tables.CERTIFICATES: "Server certificates seen by tls pollings, per server:port and serial. Read with FINAL.",
    tables.RESOURCE_MONITOR: "netobs watching itself: CPU, memory, disk, load, consumer lag per process and minute.",
    tables.MCP_AUDIT: "Every MCP request: who, from where, which tool, a digest of the arguments, outcome, latency.",
    tables.COMMAND_AUDIT: (
        "Every step of every action command (requested, pending_approval, approved, rejected, denied, executing, "
        "executed, failed, timed_out) in order (seq), hash-chained: `netobs audit verify` checks it."
    ),
    tables.PROCESSOR_STATE: "Internal: saved state of the template miners and state machines per topic partition.",
    tables.SCHEMA_MIGRATIONS: "Internal: which schema migrations are applied.",
}

COLUMN_DOCS = {
    tables.SYSLOG: {
        "received_at": "when the receiver got the line (UTC)",
        "event_time": "the timestamp in the line (received_at when it has none)",
        "source": "sender IP address",
        "transport": "udp, tcp or tls",
        "host": "HOSTNAME from the line, else the sender address",
        "facility": "syslog facility from PRI",
        "severity": "syslog severity from PRI (0 emerg .. 7 debug)",
        "level": "severity 0-2 high, 3 low, 4 warn, 5-6 info, 7 debug (as TWSNMP FK)",
        "type": "<severity>:<facility>, e.g. err:daemon",
        "tag": "APP-NAME / TAG (a Cisco event's whole %FAC-SEV-MNEMONIC, as rsyslog and syslog-ng take it)",
        "pid": "PROCID",
        "msgid": "MSGID (Cisco %FAC-SEV-MNEMONIC goes here)",
        "structured_data": 'RFC 5424 structured data as JSON {"id": {"param": "value"}}',
        "message": "MSG, the text of the line",
        "template_id": "the log template of the line: join syslog_patterns on template_id",
        "parse_error": "the line could not be parsed as syslog; message and raw hold it whole",
        "ingest_flags": "1 truncated, 2 oversized (split), 4 framing error",
        "compliance": "rfc5424, rfc3164, non-standard or unparsed: how far the line kept its RFC",
        "parse_issues": "short reasons the line broke its RFC (no-pri, bad-version, invalid-utf8, ...)",
        "raw": "the line exactly as received (an ALIAS, rebuilt from raw_head, message and raw_tail)",
        "raw_head": "the line before its message, host and RFC 3164 time folded to bytes 0x01, 0x02 (read raw)",
        "raw_tail": "what the line had after its message (trailing spaces, CR, LF, NUL)",
        "raw_whole": "raw_head holds the whole line (the message is not its tail as received, e.g. invalid UTF-8)",
        "kafka_partition": "partition of netobs.syslog.raw holding the line",
        "kafka_offset": "offset of the record holding the line",
        "line_no": "position of the line in its record",
    },
    tables.SYSLOG_PATTERNS: {
        "template_id": "id of the template (syslog.template_id)",
        "template": "template text, variable parts as <*> or masks",
        "current_id": "newest template of the same cluster (0: this one)",
        "first_seen": "when the template was first mined",
        "updated_at": "version of the row (newest wins)",
    },
}

Query = Annotated[
    str,
    Field(description="One ClickHouse SELECT (or WITH ... SELECT, or EXPLAIN of one), without SETTINGS or FORMAT."),
]
TableName = Annotated[str, Field(description="A table name as returned by list_tables, e.g. syslog.")]


def register(server: MCPServer, store: Store, limits: SqlLimits, dsn: str = "") -> None:
    """Add the analyst tools to the server; opens the read-only sessions they use.

    dsn: the ClickHouse user analysts' SQL runs as, when not the store's (see the README on a server user).
    """
    checker = store.read_only_pool(limits.check_settings(), size=limits.sessions, dsn=dsn)
    runner = store.read_only_pool(limits.run_settings(), size=limits.sessions, dsn=dsn)
    gate = FairGate(limits.sessions, limits.per_credential, limits.waiting_per_credential)
    database = store.database

    @server.tool(name="run_select_query", description=_query_description(database, limits))
    async def run_select_query(query: Query) -> str:
        try:
            checked = check_sql(query, database, limits.max_query_chars)
        except SqlRejected as exc:
            raise ToolError(str(exc)) from None
        try:
            async with gate.slot(_credential()):
                tree = await _clickhouse(checker.text(tree_query(checked.select)), limits, checking=True)
                try:
                    check_query_tree(tree, database)
                except SqlRejected as exc:
                    raise ToolError(str(exc)) from None
                selected = await _clickhouse(runner.select(checked.statement), limits)
        except QueueFull:
            raise ToolError(
                f"{limits.waiting_per_credential} queries of this credential are already waiting for their turn "
                f"({limits.per_credential} of its queries run at a time); wait for their answers"
            ) from None
        return result_json(selected, limits)

    @server.tool(
        name="list_tables",
        description=(
            f"The tables of the {database} database: name, engine, rows, bytes and what they hold. "
            "Read a table's columns with describe_table; query them with run_select_query."
        ),
    )
    async def list_tables() -> str:
        return dumps(
            [
                {
                    "name": name,
                    "engine": engine,
                    "rows": _json_value(rows),
                    "bytes": _json_value(size),
                    "description": TABLE_DOCS.get(name) or comment,
                }
                for name, engine, rows, size, comment in await _tables(store)
            ]
        )

    @server.tool(
        name="describe_table",
        description=(
            f"Columns of one table of the {database} database: name, type, default and what it means, "
            "plus the table's sorting and partition keys (filter on them for fast queries)."
        ),
    )
    async def describe_table(table: TableName) -> str:
        known = {row[0] for row in await _tables(store)}
        if table not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise ToolError(f"unknown table {str(table)[:_MAX_TABLE_NAME]!r}; tables in {database}: {names}")
        return dumps(await table_description(store, table))


async def table_description(store: Store, table: str) -> dict[str, Any]:
    """One table of the store's database: engine, what it holds, keys, and each column's type and meaning."""
    known = {row[0]: row for row in await _tables(store)}
    keys = await store.rows(
        "SELECT sorting_key, partition_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": store.database, "t": table},
    )
    columns = await store.rows(
        "SELECT name, type, default_kind, default_expression, comment FROM system.columns "
        "WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        {"db": store.database, "t": table},
    )
    docs = COLUMN_DOCS.get(table, {})
    sorting_key, partition_key = keys[0] if keys else ("", "")
    engine, comment = (known[table][1], known[table][4]) if table in known else ("", "")
    return {
        "name": table,
        "engine": engine,
        "description": TABLE_DOCS.get(table) or comment,
        "sorting_key": sorting_key,
        "partition_key": partition_key,
        "columns": [
            {
                "name": name,
                "type": type_,
                "default": f"{kind} {expression}".strip() if kind else "",
                "comment": comment or docs.get(name, ""),
            }
            for name, type_, kind, expression, comment in columns
        ],
    }


def result_json(selected: Selected, limits: SqlLimits) -> str:
    """The answer of run_select_query: columns, rows and whether (and why) rows were left out."""
    columns = [{"name": name, "type": type_} for name, type_ in zip(selected.names, selected.types, strict=True)]
    rows: Sequence[Sequence[Any]] = selected.rows
    reason = None
    if len(rows) > limits.max_result_rows:
        rows = rows[: limits.max_result_rows]
        reason = (
            f"the result has more than {limits.max_result_rows} rows (max_result_rows): the first "
            f"{limits.max_result_rows} are returned; aggregate, filter or add LIMIT/OFFSET for the rest"
        )
    budget = limits.max_text_bytes - len(dumps(columns).encode()) - _ENVELOPE_RESERVE
    kept: list[list[Any]] = []
    for row in rows:
        values = [_json_value(v) for v in row]
        budget -= len(dumps(values).encode()) + 1
        if budget < 0:
            reason = (
                f"the answer would exceed {limits.max_text_bytes} bytes of JSON (max_text_bytes): only the first "
                f"{len(kept)} rows are returned; select fewer or shorter columns (e.g. substring(message, 1, 200)) "
                "or fewer rows"
            )
            break
        kept.append(values)
    return dumps(
        {
            "columns": columns,
            "rows": kept,
            "row_count": len(kept),
            "truncated": reason is not None,
            "truncated_reason": reason,
        }
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_value(value: Any) -> Any:
    """A ClickHouse value as JSON an agent reads without guessing; the column type says what it was."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= _MAX_EXACT_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(_json_value(k)): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    return str(value)  # Decimal, UUID, IPv4Address, IPv6Address, timedelta


def _credential() -> str:
    """Whose turn a query takes: the caller's principal (one key for calls made outside the guard)."""
    found = caller.current.get()
    return found.principal.name if found is not None else ""


async def _tables(store: Store) -> Sequence[Sequence[Any]]:
    return await store.rows(
        "SELECT name, engine, total_rows, total_bytes, comment FROM system.tables "
        "WHERE database = {db:String} AND NOT is_temporary ORDER BY name",
        {"db": store.database},
    )


async def _clickhouse(call: Awaitable[T], limits: SqlLimits, checking: bool = False) -> T:
    """Await a ReadOnlyPool call; a ClickHouse error becomes a ToolError that says what to change."""
    try:
        return await call
    except ClickHouseError as exc:
        raise ToolError(_error_message(str(exc), limits, checking)) from None


def _error_message(text: str, limits: SqlLimits, checking: bool = False) -> str:
    if checking and ("TOO_MANY_ROWS_OR_BYTES" in text or "Code: 396." in text):
        return (
            f"the query's parse tree is larger than {limits.max_tree_bytes // MIB} MiB (max_tree_bytes), so it "
            "is not checked nor run; nest expressions less deeply"
        )
    if "TIMEOUT_EXCEEDED" in text or "Code: 159." in text:
        return (
            f"the query ran longer than {limits.max_execution_time} s (max_execution_time) and was stopped; "
            "narrow the time range (e.g. received_at > now() - INTERVAL 1 HOUR) or aggregate"
        )
    if "MEMORY_LIMIT_EXCEEDED" in text or "Code: 241." in text:
        return (
            f"the query needed more than {limits.max_memory_bytes // MIB} MiB of memory and was stopped; "
            "aggregate over a shorter time range or fewer groups"
        )
    if "TOO_MANY_ROWS_OR_BYTES" in text or "Code: 396." in text:
        return (
            f"the result is larger than {limits.max_result_bytes // MIB} MiB (max_result_bytes); select fewer or "
            "shorter columns (e.g. substring(message, 1, 200)) or fewer rows"
        )
    if "READONLY" in text or "Code: 164." in text:
        return "the query tried to change data, settings or read outside the tables; only reads are allowed"
    return "ClickHouse: " + _first_line(text)


def _first_line(text: str) -> str:
    """ClickHouse's complaint without the repeated code prefixes, version trailer and stack trace."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "query failed")
    while True:
        start = line.find("DB::Exception: ")
        if start < 0:
            break
        line = line[start + len("DB::Exception: ") :]
    end = line.find(" (version ")
    if end > 0:
        line = line[:end]
    return line[:_MAX_ERROR_CHARS]


def _query_description(database: str, limits: SqlLimits) -> str:
    generators = ", ".join(f"{name}()" for name in GENERATORS)
    return (
        f"Run one read-only ClickHouse SQL query over the {database} database (see list_tables and "
        f"describe_table; unqualified table names resolve in {database}). Accepted: SELECT ..., WITH ... SELECT "
        "..., or EXPLAIN [AST|SYNTAX|QUERY TREE|PLAN|PIPELINE|ESTIMATE] [option = value] SELECT ... . One "
        "statement; no SETTINGS, FORMAT or INTO OUTFILE; no other databases (system, information_schema); no "
        f"table functions but {generators}; no file(), dictGet() or joinGet(). Limits: "
        f"{limits.max_execution_time} s, {limits.max_memory_bytes // MIB} MiB memory, {limits.max_result_rows} "
        f"rows, {limits.max_text_bytes // 1024} KiB of JSON. Returns {{columns: [{{name, type}}], rows: "
        "[[...]], row_count, truncated, truncated_reason}; integers beyond 2^53 and decimals come as strings."
    )
