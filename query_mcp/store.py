"""The ClickHouse edge of the MCP service: a small pool of clients, queries off the event loop.

clickhouse-connect is synchronous; queries run in worker threads so one slow search never stalls the
service. The same code reads chdb (single node, same process as the writer) or a ClickHouse server.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from common.clickhouse import connect
from query_mcp.tools.bounds import ArgumentError

_REGEX_ERROR_CODES = ("CANNOT_COMPILE_REGEXP", "Code: 427")


class Store:
    """A fixed pool of clients on one DSN, so concurrent tool calls do not share a session."""

    def __init__(self, dsn: str, database: str, timeout_seconds: int, size: int = 4) -> None:
        self.database = database
        self._dsn = dsn
        self.timeout_seconds = timeout_seconds
        self._pool: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            self._pool.put(connect(dsn))

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        client = self._pool.get()
        try:
            yield client
        finally:
            self._pool.put(client)

    def _rows(self, sql: str, params: dict[str, object]) -> Sequence[Sequence[Any]]:
        settings = {"max_execution_time": self.timeout_seconds, "readonly": 2}
        with self._client() as client:
            return client.query(sql, parameters=params, settings=settings).result_rows

    async def rows(self, sql: str, params: dict[str, object]) -> Sequence[Sequence[Any]]:
        """Run a read query and return its rows."""
        return await asyncio.to_thread(self._rows, sql, params)

    async def check_regexes(self, filters: dict[str, str]) -> None:
        """Ask ClickHouse (RE2) to compile each non-empty filter, so a bad one is named to the agent."""
        for name, pattern in filters.items():
            if not pattern:
                continue
            try:
                await self.rows("SELECT match('', {p:String})", {"p": pattern})
            except Exception as exc:
                if any(code in str(exc) for code in _REGEX_ERROR_CODES):
                    raise ArgumentError(f"{name}: not a valid RE2 regular expression ({_first_line(exc)})") from None
                raise

    def read_only_pool(self, settings: Mapping[str, object], size: int = 2, dsn: str = "") -> ReadOnlyPool:
        """Separate clients, locked read-only with these settings, for SQL written by people rather than netobs.

        dsn: another ClickHouse user for them (on a server, one granted SELECT on this database only).
        """
        return ReadOnlyPool(dsn or self._dsn, self.database, settings, size)


@dataclass(frozen=True, slots=True)
class Selected:
    """A query's rows with the names and ClickHouse types of its columns."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    rows: Sequence[Sequence[Any]]


class ReadOnlyPool:
    """Clients whose sessions are locked: the given settings first, then readonly=1.

    After readonly=1 ClickHouse refuses every change of setting, so no query can lift the limits, and every
    statement the session runs is read-only (chdb runs all statements of a multi-statement string; a per-call
    readonly=1 would cover only the last). chdb keeps the settings on the connection handle; over HTTP they
    ride on every request. Unqualified table names resolve in the store's database.
    """

    def __init__(self, dsn: str, database: str, settings: Mapping[str, object], size: int) -> None:
        locked = {name: value for name, value in settings.items() if name != "readonly"}
        locked["readonly"] = 1
        # Threads of their own: a query waiting for a session never holds a thread of the default executor,
        # where the search tools' queries run.
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="netobs-readonly")
        self._pool: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            client = connect(dsn, database=database, settings=locked)
            readonly = client.query("SELECT getSetting('readonly')").result_rows[0][0]
            if int(readonly) != 1:
                raise RuntimeError(f"ClickHouse did not lock the session read-only (readonly={readonly})")
            self._pool.put(client)

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        client = self._pool.get()
        try:
            yield client
        finally:
            self._pool.put(client)

    def _select(self, sql: str) -> Selected:
        with self._client() as client:
            result = client.query(sql)
        return Selected(tuple(result.column_names), tuple(t.name for t in result.column_types), result.result_rows)

    def _text(self, sql: str) -> str:
        with self._client() as client:
            return client.raw_query(sql, fmt="TabSeparatedRaw").decode("utf-8", "replace")

    def _raw(self, sql: str, fmt: str) -> bytes:
        with self._client() as client:
            return bytes(client.raw_query(sql, fmt=fmt))

    async def raw(self, sql: str, fmt: str) -> bytes:
        """Run one query and return the engine's own output in a ClickHouse format (Native, Parquet, JSON, ...)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._raw, sql, fmt)

    async def select(self, sql: str) -> Selected:
        """Run one query as it is, with the session's settings only."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._select, sql)

    async def text(self, sql: str) -> str:
        """Run one query and return its output as text, a line per row (for EXPLAIN)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._text, sql)


def _first_line(exc: Exception) -> str:
    """The RE2 complaint without ClickHouse's boilerplate around it."""
    text = str(exc)
    start = text.find("cannot compile re2:")
    if start < 0:
        return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    end = text.find(". Look at", start)
    return text[start : end if end > 0 else start + 300]
