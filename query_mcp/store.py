"""The ClickHouse edge of the MCP service: a small pool of clients, queries off the event loop.

clickhouse-connect is synchronous; queries run in worker threads so one slow search never stalls the
service. The same code reads chdb (single node, same process as the writer) or a ClickHouse server.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Iterator, Sequence
from typing import Any

import clickhouse_connect

from query_mcp.bounds import ArgumentError

_REGEX_ERROR_CODES = ("CANNOT_COMPILE_REGEXP", "Code: 427")


class Store:
    """A fixed pool of clients on one DSN, so concurrent tool calls do not share a session."""

    def __init__(self, dsn: str, database: str, timeout_seconds: int, size: int = 4) -> None:
        self.database = database
        self._timeout = timeout_seconds
        self._pool: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            self._pool.put(_connect(dsn))

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        client = self._pool.get()
        try:
            yield client
        finally:
            self._pool.put(client)

    def _rows(self, sql: str, params: dict[str, object]) -> Sequence[Sequence[Any]]:
        settings = {"max_execution_time": self._timeout, "readonly": 2}
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
                    raise ArgumentError(
                        f"{name}: not a valid RE2 regular expression ({_first_line(exc)})"
                    ) from None
                raise


def _connect(dsn: str) -> Any:
    if dsn.startswith("chdb://"):
        return clickhouse_connect.get_client(dsn=dsn)
    return clickhouse_connect.get_client(dsn=dsn, autogenerate_session_id=False)


def _first_line(exc: Exception) -> str:
    """The RE2 complaint without ClickHouse's boilerplate around it."""
    text = str(exc)
    start = text.find("cannot compile re2:")
    if start < 0:
        return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    end = text.find(". Look at", start)
    return text[start : end if end > 0 else start + 300]
