"""The MCP service: the tools on the mcp SDK's MCPServer, served over Streamable HTTP (FastAPI + uvicorn)
at /mcp, or over stdio for agent hosts that launch it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from query_mcp import syslog_tools
from query_mcp.access import AccessMiddleware
from query_mcp.store import Store

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "netobs answers questions about network operations data (syslog) stored in ClickHouse. "
    "Times are UTC. Filters are RE2 regular expressions evaluated by ClickHouse. Start with "
    "get_syslog_summary to see which message patterns dominate a window, then search_syslog to read lines."
)


def build_server(store: Store) -> MCPServer:
    """An MCPServer with every read tool registered."""
    server = MCPServer(name="netobs", instructions=INSTRUCTIONS, version="0.1.0")
    syslog_tools.register(server, store)
    return server


def build_http_app(
    server: MCPServer, token: str, allow_from: tuple[str, ...], hosts: list[str], origins: list[str]
) -> FastAPI:
    """FastAPI app with the MCP endpoint at /mcp behind the allowlist and bearer token; /healthz is open."""
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
    mcp_app = server.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, transport_security=security
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    app = FastAPI(title="netobs MCP", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/", mcp_app)
    app.add_middleware(AccessMiddleware, token=token, allow_from=allow_from, open_paths=("/healthz",))
    return app


def default_hosts(bind: str, port: int) -> list[str]:
    """Host headers accepted by default: the bound address and, on loopback, localhost."""
    hosts = [f"{bind}:{port}"]
    if bind in ("127.0.0.1", "::1"):
        hosts += [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]
    return sorted(set(hosts))


async def serve_http(
    server: MCPServer,
    bind: str,
    port: int,
    token: str,
    allow_from: tuple[str, ...],
    hosts: tuple[str, ...],
    origins: tuple[str, ...],
    stop: asyncio.Event,
) -> None:
    """Serve until stop is set."""
    app = build_http_app(server, token, allow_from, list(hosts) or default_hosts(bind, port), list(origins))
    config = uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False, lifespan="on")
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve())
    await stop.wait()
    web.should_exit = True
    await task
