"""The MCP service: the tools on the mcp SDK's MCPServer behind the guard, served over Streamable HTTP at
/mcp (and legacy HTTP+SSE at /sse + /messages/ when enabled) by FastAPI + uvicorn, or over stdio.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from common.clickhouse import connect
from common.config import ActionsConfig, McpConfig
from common.kafka_client import KafkaAccess
from common.sealing import load_or_create_key
from query_mcp import endpoint
from query_mcp.auth import access, mcp_audit, scopes
from query_mcp.auth.credentials import Authenticator
from query_mcp.auth.gate.authentication import Authenticate, protected_resource_metadata
from query_mcp.auth.gate.chain import GateSettings, behind_gate
from query_mcp.auth.gate.state import METADATA_PATH, state_of
from query_mcp.auth.mcp_guard import GuardSettings, McpGuard, tool_digest
from query_mcp.command_client import CommandClient
from query_mcp.guides import prompts, resources
from query_mcp.metrics import Metrics
from query_mcp.sql import tools as sql_tools
from query_mcp.store import Store
from query_mcp.tools import actions, addresses, inventory, monitoring, syslog, traps_and_events
from query_mcp.tools.args import harden
from query_mcp.tools.logs import counts, patterns
from query_mcp.tools.logs.cursor import Cursors
from query_mcp.tools.logs.paging import Paging

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "netobs answers questions about network operations data stored in ClickHouse: syslog, SNMP traps, the "
    "event log (state changes), nodes and their pollings, IP/MAC addresses, certificates. Times are UTC. "
    "Filters are RE2 regular expressions evaluated by ClickHouse. For logs, start with get_syslog_summary to "
    "see which patterns dominate a window, count_syslog for who sends what, find_syslog_spikes and "
    "find_new_syslog_patterns for what changed, then search_syslog (template_id, fields, cursor) to read lines; "
    "for devices, get_node_list and "
    "search_event_log. Actions (do_ping, snmpwalk, snmpset, add_node, update_node, add_event_log) go through an "
    "audited command path and may be denied by policy or wait for approval; get_command_status follows them. "
    "The tools listed are the ones this credential may call."
)


def build_server(
    store: Store,
    guard: McpGuard | None = None,
    commands: CommandClient | None = None,
    sql_per_credential: int = 1,
    max_result_bytes: int = McpConfig.max_result_bytes,
) -> MCPServer:
    """An MCPServer with every tool registered, behind the guard when one is given.

    The action tools publish through commands; without one (no broker) they answer that actions are off.
    sql_per_credential: mcp.sql_concurrency_per_credential; max_result_bytes: mcp.max_result_bytes (the log
    tools cut their pages there, so the cursor continues after the last row sent).
    """
    server = MCPServer(name="netobs", instructions=INSTRUCTIONS, version="0.1.0")
    paging = Paging(Cursors(), max_result_bytes)
    for log_family in (syslog, traps_and_events, inventory):
        log_family.register(server, store, paging)
    for family in (counts, patterns, addresses, monitoring):
        family.register(server, store)
    actions.register(server, store, commands)
    harden(server)  # before the SQL tools, whose schemas are query_mcp.sql's own
    limits = sql_tools.SqlLimits(max_execution_time=store.timeout_seconds, per_credential=sql_per_credential)
    sql_tools.register(server, store, limits)
    prompts.register(server)
    resources.register(server, store)
    if guard is not None:
        server.middleware.append(guard)
    return server


def guard_for(mcp: McpConfig, trail: mcp_audit.AuditTrail | None, metrics: Metrics, stdio: bool = False) -> McpGuard:
    """The guard of a server; a stdio server's messages act as the stdio principal."""
    principal = scopes.Principal("stdio", frozenset(mcp.stdio_scopes), "stdio") if stdio else None
    return McpGuard(GuardSettings(mcp.max_concurrent_calls, mcp.max_result_bytes, principal), trail, metrics)


def resource_url(mcp: McpConfig) -> str:
    """The public URL of /mcp, for RFC 9728 metadata and WWW-Authenticate."""
    if mcp.resource_url:
        return mcp.resource_url
    host = f"[{mcp.bind}]" if ":" in mcp.bind else mcp.bind
    return f"{'https' if mcp.tls_cert else 'http'}://{host}:{mcp.port}/mcp"


def default_hosts(bind: str, port: int) -> list[str]:
    """Host headers accepted by default: the bound address and, on loopback, localhost."""
    hosts = [f"{bind}:{port}" if ":" not in bind else f"[{bind}]:{port}"]
    if ipaddress.ip_address(bind).is_loopback:
        hosts += [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]
    return sorted(set(hosts))


class AnyMethod:
    """An ASGI endpoint answering every method with a fresh response: Starlette routes a plain function to GET
    only, and the metadata and /metrics answer whatever reaches them (the gate decides what does)."""

    def __init__(self, respond: Callable[[], Response]) -> None:
        self._respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._respond()(scope, receive, send)


def build_http_app(
    server: MCPServer, mcp: McpConfig, authenticate: Authenticate, trail: mcp_audit.AuditTrail | None, metrics: Metrics
) -> ASGIApp:
    """The whole HTTP surface: FastAPI with /healthz, the RFC 9728 metadata, /metrics, /tool-digests and the MCP
    transports, behind the gate (which decides who reaches which)."""
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(mcp.allowed_hosts) or default_hosts(mcp.bind, mcp.port),
        allowed_origins=list(mcp.allowed_origins),
    )
    mcp_app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=security,
        max_request_body_size=mcp.max_body_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    app = FastAPI(title="netobs MCP", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    metadata = protected_resource_metadata(resource_url(mcp), mcp.authorization_servers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def exposition() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    # The metadata of /mcp is at METADATA_PATH + "/mcp" (RFC 9728).
    app.router.routes.extend(
        [
            Route(METADATA_PATH + "{resource:path}", AnyMethod(lambda: JSONResponse(metadata))),
            Route("/metrics", AnyMethod(exposition)),
        ]
    )

    @app.get("/tool-digests")
    async def tool_digests(request: Request) -> dict[str, Any]:
        """SHA-256 of each tool this credential may call, as listed: a client can pin them."""
        principal = state_of(request.scope).principal
        listed = [t.model_dump(by_alias=True, exclude_none=True) for t in await server.list_tools()]
        return {t["name"]: tool_digest(t) for t in listed if principal and scopes.may_call(principal, t["name"])}

    # The SDK's apps add no middleware without SDK auth, so their routes join ours directly.
    app.router.routes.extend(mcp_app.routes)
    if mcp.sse:
        sse_app = server.sse_app(transport_security=security, max_request_body_size=mcp.max_body_bytes)
        app.router.routes.extend(sse_app.routes)
    settings = GateSettings(
        allow_from=access.parse_networks(mcp.allow_from),
        trusted_proxies=access.parse_networks(mcp.trusted_proxies),
        max_body_bytes=mcp.max_body_bytes,
        rate_per_client=mcp.rate_per_client,
        rate_per_tool=mcp.rate_per_tool,
        metrics_access=mcp.metrics,
        resource_url=resource_url(mcp),
    )
    return behind_gate(app, settings, authenticate, trail, metrics)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """TLS 1.3 only: its cipher suites are all AEAD (AES-GCM, ChaCha20-Poly1305); no renegotiation, no compression."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.options |= ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert, key)
    return context


GRACEFUL_STOP_SECONDS = 5


async def serve_http(
    server: MCPServer,
    mcp: McpConfig,
    data_dir: Path,
    stop: asyncio.Event,
    trail: mcp_audit.AuditTrail | None,
    metrics: Metrics,
) -> None:
    """Serve until stop is set; the audit trail (if any) is flushed after the last request."""
    authenticate = Authenticator(mcp, data_dir)
    app = build_http_app(server, mcp, authenticate, trail, metrics)
    config = uvicorn.Config(
        app,
        host=mcp.bind,
        port=mcp.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        # uvicorn would trust X-Forwarded-For from 127.0.0.1 itself; the gate decides, from trusted_proxies.
        proxy_headers=False,
        h11_max_incomplete_event_size=64 * 1024,
        # A stop waits this long for requests in flight (a long query, an open stream), then cancels them.
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
    )
    config.load()
    if mcp.tls_cert:
        config.ssl = tls_context(mcp.tls_cert, mcp.tls_key)
    web = uvicorn.Server(config)
    audit_stop = asyncio.Event()
    audit_task = asyncio.create_task(trail.run(audit_stop)) if trail is not None else None
    task = asyncio.create_task(web.serve())
    url = await _listening(web, task, mcp)
    if url:
        endpoint.write(data_dir, url, authenticate.admin_token)
    try:
        await stop.wait()
    finally:
        if url:
            endpoint.remove(data_dir, url)
    web.should_exit = True
    await task
    audit_stop.set()
    if audit_task is not None:
        await audit_task


async def _listening(web: uvicorn.Server, task: asyncio.Task[None], mcp: McpConfig) -> str:
    """The local URL of /mcp once uvicorn listens (with the port it bound), or blank if it stopped first."""
    while not web.started:
        if task.done():
            return ""
        await asyncio.sleep(0.02)
    port = next((s.getsockname()[1] for server in web.servers for s in server.sockets), mcp.port)
    return endpoint.local_url(mcp.bind, port, bool(mcp.tls_cert))


def audit_trail(kafka: KafkaAccess | None, dsn: str, database: str, key: Callable[[], bytes]) -> mcp_audit.AuditTrail:
    """Audit to the topic, signed with key() (the MCP audit key), when there is a broker; else straight into
    mcp_audit (a lone embedded store: no topic to forge on, so no key is needed)."""
    if kafka is not None:
        return mcp_audit.AuditTrail(mcp_audit.kafka_sender(kafka, key()))
    return mcp_audit.AuditTrail(mcp_audit.table_sender(connect(dsn), database))


async def serve(
    mcp: McpConfig,
    store: Store,
    data_dir: Path,
    stop: asyncio.Event,
    trail: mcp_audit.AuditTrail,
    commands: CommandClient | None,
    metrics: Metrics | None = None,
) -> None:
    """The HTTP MCP service of a node or of `netobs mcp`, with its guard, metrics (its own unless given) and
    audit trail; data_dir holds the admin token and the tokens file's default place."""
    metrics = metrics if metrics is not None else Metrics()
    server = build_server(
        store, guard_for(mcp, trail, metrics), commands, mcp.sql_concurrency_per_credential, mcp.max_result_bytes
    )
    await serve_http(server, mcp, data_dir, stop, trail, metrics)


@contextlib.asynccontextmanager
async def command_path(
    kafka: KafkaAccess | None, actions: ActionsConfig, key_path: Path, signing_key: Callable[[], bytes]
) -> AsyncIterator[CommandClient | None]:
    """The command path of this service, started and stopped around the block; None when actions are off or
    there is no broker. key_path holds the key sealing secrets; signing_key() gives the commands key."""
    if kafka is None or not actions.enabled:
        yield None
        return
    client = CommandClient(kafka, load_or_create_key(key_path), signing_key(), actions.wait_seconds)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()
