"""How netobs runs the MCP service from the whole configuration: the service gets its own sections, and what it
talks to (broker, store, command key) is wired here, once for `netobs mcp` and the single node."""

from __future__ import annotations

import asyncio
import functools

from netobs.config import Config
from query_mcp import service, stdio
from query_mcp.store import Store


def open_store(config: Config) -> Store:
    """The MCP service's read pool on the configured ClickHouse."""
    return Store(config.clickhouse_dsn, config.clickhouse.database, config.mcp.query_timeout_seconds)


async def serve_mcp(config: Config, store: Store, bootstrap: str, stop: asyncio.Event) -> None:
    """The MCP service over HTTP: its audit trail goes to the broker (or the store without one), its actions to
    the command path."""
    trail = service.audit_trail(bootstrap, config.clickhouse_dsn, config.clickhouse.database, _key(config, "mcp_audit"))
    async with service.command_path(
        bootstrap, config.actions, config.command_key_path, _key(config, "commands")
    ) as commands:
        await service.serve(config.mcp, store, config.data_dir, stop, trail, commands)


async def serve_mcp_stdio(config: Config, store: Store) -> None:
    """The MCP service on stdin/stdout, wired like serve_mcp."""
    bootstrap = config.kafka.bootstrap
    trail = service.audit_trail(bootstrap, config.clickhouse_dsn, config.clickhouse.database, _key(config, "mcp_audit"))
    async with service.command_path(
        bootstrap, config.actions, config.command_key_path, _key(config, "commands")
    ) as commands:
        await stdio.serve(config.mcp, store, trail, commands)


def _key(config: Config, purpose: str) -> functools.partial[bytes]:
    """The MCP service's signing key of a purpose, read (or created) only when the service needs it."""
    return functools.partial(config.signing_key, purpose)
