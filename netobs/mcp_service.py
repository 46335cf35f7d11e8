"""How netobs runs the MCP service from the whole configuration: the service gets its own sections, and what it
talks to (broker, store, command key) is wired here, once for `netobs mcp` and the single node."""

from __future__ import annotations

import asyncio
import functools
import logging

from common.kafka_client import KafkaAccess, access
from netobs.config import Config
from query_mcp import service, stdio
from query_mcp.clickhouse_http import server as clickhouse_http
from query_mcp.metrics import Metrics
from query_mcp.store import Store

log = logging.getLogger(__name__)


def open_store(config: Config) -> Store:
    """The MCP service's read pool on the configured ClickHouse."""
    return Store(config.clickhouse_dsn, config.clickhouse.database, config.mcp.query_timeout_seconds)


async def serve_mcp(
    config: Config, store: Store, kafka: KafkaAccess | None, stop: asyncio.Event, metrics: Metrics | None = None
) -> None:
    """The MCP service over HTTP: its audit trail goes to the broker (or the store without one), its actions to
    the command path. kafka is the MCP principal's access (None: no broker); metrics, when given, is where it
    counts (a single node serves them with the others)."""
    trail = service.audit_trail(kafka, config.clickhouse_dsn, config.clickhouse.database, _key(config, "mcp_audit"))
    async with service.command_path(
        kafka, config.actions, config.command_key_path, _key(config, "commands")
    ) as commands:
        await service.serve(config.mcp, store, config.data_dir, stop, trail, commands, metrics)


def serves_clickhouse_http(config: Config) -> bool:
    """The ClickHouse HTTP endpoint runs where the embedded store is held; a ClickHouse server answers for
    itself (the README's read-only user)."""
    return config.clickhouse.http_port > 0 and config.clickhouse_dsn.startswith("chdb://")


async def serve_clickhouse_http(config: Config, store: Store, kafka: KafkaAccess | None, stop: asyncio.Event) -> None:
    """The read-only ClickHouse HTTP endpoint over the store, audited like the MCP service."""
    trail = service.audit_trail(kafka, config.clickhouse_dsn, config.clickhouse.database, _key(config, "mcp_audit"))
    try:
        await clickhouse_http.serve(config.clickhouse, config.mcp, store, config.data_dir, stop, trail)
    except Exception as exc:  # the node goes on without it; the log says why
        log.error("ClickHouse HTTP endpoint on port %d not served: %s", config.clickhouse.http_port, exc)


async def serve_mcp_and_clickhouse_http(
    config: Config, store: Store, kafka: KafkaAccess | None, stop: asyncio.Event
) -> None:
    """`netobs mcp`: the MCP service, and the ClickHouse HTTP endpoint when this process holds the store."""
    parts = [serve_mcp(config, store, kafka, stop)]
    if serves_clickhouse_http(config):
        parts.append(serve_clickhouse_http(config, store, kafka, stop))
    await asyncio.gather(*parts)


async def serve_mcp_stdio(config: Config, store: Store) -> None:
    """The MCP service on stdin/stdout, wired like serve_mcp."""
    kafka = access(config.kafka) if config.kafka.bootstrap else None
    trail = service.audit_trail(kafka, config.clickhouse_dsn, config.clickhouse.database, _key(config, "mcp_audit"))
    async with service.command_path(
        kafka, config.actions, config.command_key_path, _key(config, "commands")
    ) as commands:
        await stdio.serve(config.mcp, store, trail, commands)


def _key(config: Config, purpose: str) -> functools.partial[bytes]:
    """The MCP service's signing key of a purpose, read (or created) only when the service needs it."""
    return functools.partial(config.signing_key, purpose)
