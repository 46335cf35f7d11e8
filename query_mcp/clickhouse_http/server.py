"""Serving the ClickHouse HTTP endpoint: uvicorn on clickhouse.http_bind:http_port (TLS 1.3 when configured),
credentials and limits from the MCP section, the audit trail flushed after the last request."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import uvicorn

from common.config import ClickHouseConfig, McpConfig
from query_mcp.auth import access
from query_mcp.auth.credentials import Authenticator
from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.clickhouse_http.app import ClickHouseHttp, HttpSettings, open_engine
from query_mcp.service import tls_context
from query_mcp.sql.tools import SqlLimits
from query_mcp.store import Store

log = logging.getLogger(__name__)

GRACE_SECONDS = 5
"""At stop, how long answers under way may take to finish; a client's idle keep-alive connection holds nothing."""


def http_settings(clickhouse: ClickHouseConfig, mcp: McpConfig) -> HttpSettings:
    """The endpoint's policy: the MCP service's address allowlist, rates, body cap and SQL limits."""
    return HttpSettings(
        database=clickhouse.database,
        allow_from=access.parse_networks(mcp.allow_from),
        trusted_proxies=access.parse_networks(mcp.trusted_proxies),
        rate_per_client=mcp.rate_per_client,
        rate_per_credential=mcp.rate_per_tool,
        per_credential=mcp.sql_concurrency_per_credential,
        max_body_bytes=mcp.max_body_bytes,
        limits=SqlLimits(max_execution_time=mcp.query_timeout_seconds),
    )


def url(clickhouse: ClickHouseConfig) -> str:
    host = f"[{clickhouse.http_bind}]" if ":" in clickhouse.http_bind else clickhouse.http_bind
    return f"{'https' if clickhouse.http_tls_cert else 'http'}://{host}:{clickhouse.http_port}"


def bound_socket(bind: str, port: int) -> socket.socket:
    """The listening socket, bound here: a port in use is an OSError the caller reports (uvicorn, binding itself,
    would end the whole process with SystemExit)."""
    sock = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    clickhouse: ClickHouseConfig, mcp: McpConfig, store: Store, data_dir: Path, stop: asyncio.Event, trail: AuditTrail
) -> None:
    """Serve until stop is set; data_dir holds the admin token and the default tokens file."""
    settings = http_settings(clickhouse, mcp)
    engine = await open_engine(store, settings.limits)
    app = ClickHouseHttp(engine, settings, Authenticator(mcp, data_dir), trail)
    config = uvicorn.Config(
        app,
        host=clickhouse.http_bind,
        port=clickhouse.http_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,  # the app decides whom to believe, from trusted_proxies
        h11_max_incomplete_event_size=64 * 1024,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    config.load()
    if clickhouse.http_tls_cert:
        config.ssl = tls_context(clickhouse.http_tls_cert, clickhouse.http_tls_key)
    listening = bound_socket(clickhouse.http_bind, clickhouse.http_port)
    web = uvicorn.Server(config)
    audit_stop = asyncio.Event()
    audit_task = asyncio.create_task(trail.run(audit_stop))
    task = asyncio.create_task(web.serve(sockets=[listening]))
    log.info("ClickHouse HTTP endpoint on %s (read-only, credentials with read:sql)", url(clickhouse))
    await stop.wait()
    web.should_exit = True
    await task
    audit_stop.set()
    await audit_task
