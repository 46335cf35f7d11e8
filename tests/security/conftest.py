"""A running MCP service (in this process, on chdb) with named tokens, JWTs and SSE, for the security suite.

Every attack goes over real HTTP (httpx2, the mcp SDK's HTTP library) or the mcp SDK client, against
uvicorn on 127.0.0.1; refusals are read back from the mcp_audit table the service writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common import migrations
from common.config import ClickHouseConfig, McpConfig
from netobs import mcp_service
from netobs.config import Config
from query_mcp.auth import tokens
from query_mcp.store import Store
from schemas.tables import NODE_COLUMNS, POLLING_COLUMNS
from tests.brokers import free_port

DB = "netobs_sec"
ADMIN = "admin-sec-token-0123456789abcdef"
ISSUER, AUDIENCE = "https://idp.test", "netobs-mcp"
PROTOCOL = "2025-06-18"
MARKER = "sec-suite-marker"
BULK_HOST = "bulk-host-foreign"
BULK_LINES = 3000


@dataclasses.dataclass
class Service:
    config: Config
    base: str
    tokens: dict[str, str]
    rsa_key: Any

    @property
    def url(self) -> str:
        return self.base + "/mcp"

    def jwt(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "agent-7", "exp": now + 300, "scope": "read:logs"} | claims
        return jwt.encode({k: v for k, v in body.items() if v is not None}, self.rsa_key, "RS256", {"kid": "sec"})


@pytest.fixture(scope="session")
def sec_db(chdb_path: Path) -> Any:
    """netobs's tables in their own database on the session's chdb path, with a few syslog lines."""
    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    migrations.apply(client, DB, 90)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        [
            now - dt.timedelta(minutes=i),
            "192.0.2.1",
            "router1",
            "err:daemon",
            "sshd",
            f"{MARKER} login failed {i}",
            "low",
            3,
            3,
        ]
        for i in range(20)
    ]
    client.insert(
        f"{DB}.syslog",
        rows,
        column_names=["received_at", "source", "host", "type", "tag", "message", "level", "severity", "facility"],
    )
    client.insert(
        f"{DB}.nodes",
        [["n1", "router1", "192.0.2.1", "", "router", "", 0, 0, "", False, now, "test", 1]],
        column_names=list(NODE_COLUMNS),
    )
    client.insert(
        f"{DB}.pollings",
        [["p1", "n1", "PING", "ping", {}, 60, 3.0, 1, "low", "[]", True, False, now, "test", 1]],
        column_names=list(POLLING_COLUMNS),
    )
    return client


@pytest.fixture(scope="session")
def credentials_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Any]:
    """A tokens file (reader, inventory, prober, metrics, writer) and a JWKS with one RS256 key."""
    directory = tmp_path_factory.mktemp("creds")
    path = directory / "tokens.toml"
    made = {
        "reader": tokens.add(path, "reader", frozenset({"read:logs"})),
        "inventory": tokens.add(path, "inventory", frozenset({"read:inventory"})),
        "analyst": tokens.add(path, "analyst", frozenset({"read:sql"})),
        "prober": tokens.add(path, "prober", frozenset({"read:logs", "probe"})),
        "metrics": tokens.add(path, "metrics", frozenset({"metrics"})),
        "admin": ADMIN,
    }
    key = rsa.generate_private_key(65537, 2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (directory / "jwks.json").write_text(json.dumps({"keys": [jwk | {"kid": "sec", "alg": "RS256", "use": "sig"}]}))
    return directory, made, key


@contextlib.contextmanager
def running(chdb_path: Path, creds: tuple[Path, dict[str, str], Any], **mcp: Any) -> Iterator[Service]:
    """The HTTP MCP service on a free port in a thread of this process, stopped on exit."""
    directory, made, key = creds
    port = free_port()
    settings = {
        "port": port,
        "token": ADMIN,
        "tokens_file": str(directory / "tokens.toml"),
        "jwt_jwks_file": str(directory / "jwks.json"),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "sse": True,
        "rate_per_client": 1000.0,
        "rate_per_tool": 1000.0,
    } | mcp
    config = Config(
        data_dir=directory,
        clickhouse=ClickHouseConfig(dsn=f"chdb://{chdb_path}", database=DB),
        mcp=McpConfig(**settings),
    )
    store = Store(config.clickhouse_dsn, DB, 10, size=2)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(mcp_service.serve_mcp(config, store, None, stop))
        finally:
            # SSE responses leave watcher tasks behind; end them here rather than at interpreter exit.
            leftover = asyncio.all_tasks(loop)
            for task in leftover:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    scheme = "https" if settings.get("tls_cert") else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise
            time.sleep(0.1)
    try:
        yield Service(config=config, base=base, tokens=made, rsa_key=key)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)


@pytest.fixture(scope="session")
def svc(chdb_path: Path, sec_db: Any, credentials_dir: Any) -> Iterator[Service]:
    """The main service: named tokens, RS256 JWTs, SSE on, metrics behind the metrics scope."""
    with running(chdb_path, credentials_dir) as s:
        yield s


def rpc(method: str, params: dict[str, Any] | None = None, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


def post(
    s: Service, body: Any, token: str | None = ADMIN, headers: dict[str, str] | None = None, path: str = "/mcp"
) -> httpx2.Response:
    """One raw POST, as an attacker would send it."""
    sent = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": PROTOCOL,
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent |= headers or {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx2.post(s.base + path, content=content, headers=sent, timeout=30, verify=False)


def call_tool(s: Service, tool: str, args: dict[str, Any], token: str = ADMIN) -> tuple[bool, str]:
    """(is_error, text) of a tools/call over raw HTTP."""
    response = post(s, rpc("tools/call", {"name": tool, "arguments": args}), token)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    return bool(result.get("isError")), result["content"][0]["text"]


def audit_rows(client: Any, since_ns: int, timeout: float = 10.0, **where: str) -> list[dict[str, Any]]:
    """mcp_audit rows since a time matching the given column values, waiting for the trail's flush."""
    clauses = " AND ".join(f"{k} = {{{k}:String}}" for k in where)
    sql = (
        f"SELECT principal, client, method, tool, outcome, reason, status, args_digest FROM {DB}.mcp_audit "
        f"WHERE time >= fromUnixTimestamp64Nano({{t:Int64}}) {('AND ' + clauses) if clauses else ''} ORDER BY time"
    )
    deadline = time.monotonic() + timeout
    while True:
        result = client.query(sql, parameters={"t": since_ns} | where)
        rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@pytest.fixture(scope="session")
def bulk(sec_db: Any) -> int:
    """BULK_LINES long lines two days back (outside every other test's window): about 2.5 MiB as JSON, for the
    clients that must get a result over the byte cap cut at whole rows; inserted once for every module."""
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=2)
    rows = [
        [start + dt.timedelta(seconds=i), "192.0.2.9", BULK_HOST, "info:daemon", "bulk", f"{i:05d} " + "x" * 600]
        for i in range(BULK_LINES)
    ]
    sec_db.insert(f"{DB}.syslog", rows, column_names=["received_at", "source", "host", "type", "tag", "message"])
    return BULK_LINES
