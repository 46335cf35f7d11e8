"""Conformance: the mcp SDK client lists and calls every tool over Streamable HTTP, legacy SSE and stdio,
with TLS off and on; TLS below 1.3 is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from common.config import McpConfig
from query_mcp import endpoint
from schemas import commands
from tests.security.conftest import ADMIN, Service, running

SAMPLE_ARGS: dict[str, dict[str, Any]] = {
    "search_syslog": {"start_time": "-1d", "limit": 100},
    "get_syslog_summary": {"start_time": "-1d"},
    "get_ip_address_info": {"ip": "192.0.2.1"},
    "get_mac_address_info": {"mac": "00:00:0c:12:34:56"},
    "get_polling_log": {"id": "p1"},
    "get_polling_log_data": {"id": "p1"},
    "run_select_query": {"query": "SELECT 1"},
    "describe_table": {"table": "syslog"},
    "do_ping": {"target": "127.0.0.1"},
    "snmpwalk": {"target": "127.0.0.1", "mib_object_name": "system"},
    "snmpset": {"target": "127.0.0.1", "mib_object_name": "sysContact.0", "type": "string", "value": "x"},
    "add_node": {"name": "n", "ip": "127.0.0.1"},
    "update_node": {"id": "n", "description": "d"},
    "add_event_log": {"event": "e"},
    "get_command_status": {"command_id": "0" * 32},
    "approve_command": {"command_id": "0" * 32},
    "reject_command": {"command_id": "0" * 32},
}
"""Arguments for tools that need some; every other tool is called with its defaults."""

NO_BROKER = "actions are off here: this MCP service has no broker"
EXPECTED_ERRORS = {
    **{tool: NO_BROKER for tool in (*commands.TOOLS, "approve_command", "reject_command")},
    "get_command_status": "command_id: no command",
}
"""The service under test has no broker: the action tools must say so (on every transport), not fail otherwise."""

ROOT = Path(__file__).resolve().parents[2]


async def _exercise(client: Client) -> dict[str, str]:
    """List, then call every tool; returns tool -> first 80 characters of a failing result."""
    tools = await client.list_tools()
    names = [t.name for t in tools.tools]
    assert "search_syslog" in names
    failures = {}
    for name in names:
        result = await client.call_tool(name, SAMPLE_ARGS.get(name, {}))
        text = result.content[0].text
        if result.is_error and not (name in EXPECTED_ERRORS and EXPECTED_ERRORS[name] in text):
            failures[name] = text[:80]
        elif not result.is_error and name in EXPECTED_ERRORS:
            failures[name] = f"expected an error, got {text[:60]}"
    return failures


def _http(verify: Any = True) -> Callable[..., httpx2.AsyncClient]:
    def factory(headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {ADMIN}"} | (headers or {}),
            timeout=timeout or httpx2.Timeout(30, read=300),
            auth=auth,
            verify=verify,
        )

    return factory


def _run_streamable(s: Service, verify: Any = True) -> dict[str, str]:
    async def go() -> dict[str, str]:
        async with Client(streamable_http_client(s.url, http_client=_http(verify)())) as client:
            return await _exercise(client)

    return anyio.run(go)


def _run_sse(s: Service, verify: Any = True) -> dict[str, str]:
    async def go() -> dict[str, str]:
        async with Client(sse_client(s.base + "/sse", httpx_client_factory=_http(verify))) as client:
            return await _exercise(client)

    return anyio.run(go)


def test_streamable_http_and_sse(svc):
    assert _run_streamable(svc) == {}
    assert _run_sse(svc) == {}


def test_stdio_relays_to_the_running_service(svc, tmp_path):
    """`netobs mcp --stdio` while this process holds the embedded ClickHouse: it relays to the HTTP service."""
    env = dict(
        os.environ,
        NETOBS_DATA_DIR=str(tmp_path),
        NETOBS_CLICKHOUSE_DSN=svc.config.clickhouse.dsn,
        NETOBS_CLICKHOUSE_DATABASE=svc.config.clickhouse.database,
        NETOBS_MCP_PORT=str(svc.config.mcp.port),
        NETOBS_MCP_TOKEN=ADMIN,
        NETOBS_LOG_LEVEL="WARNING",
    )
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "netobs", "mcp", "--stdio"], env=env, cwd=str(ROOT)
    )

    async def go() -> dict[str, str]:
        async with Client(stdio_client(params)) as client:
            return await _exercise(client)

    assert anyio.run(go) == {}


def test_stdio_relay_finds_the_running_nodes_endpoint_and_token(chdb_path, sec_db, credentials_dir, tmp_path):
    """The relay's environment knows only the data directory: the port it is configured with is not the node's
    (a free port, not the default) and it has no token; the node's endpoint file gives both. The file is the
    owner's alone and goes away when the service stops. The service gets a data directory of its own: the
    session's service writes its endpoint file into the shared one."""
    directory, made, key = credentials_dir
    own = tmp_path / "data"
    shutil.copytree(directory, own, ignore=shutil.ignore_patterns("mcp_endpoint", "logs"))
    with running(chdb_path, (own, made, key)) as s:
        data_dir = s.config.data_dir
        path = data_dir / endpoint.ENDPOINT_FILE
        deadline = time.monotonic() + 20  # written once uvicorn reports it listens, a moment after the port opens
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_mode & 0o777 == 0o600
        assert endpoint.read(data_dir) == (s.url, ADMIN)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_")} | {
            "NETOBS_DATA_DIR": str(data_dir),
            "NETOBS_CLICKHOUSE_DSN": s.config.clickhouse.dsn,
            "NETOBS_CLICKHOUSE_DATABASE": s.config.clickhouse.database,
            "NETOBS_LOG_LEVEL": "WARNING",
        }
        assert s.config.mcp.port != McpConfig().port
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "netobs", "mcp", "--stdio"], env=env, cwd=str(ROOT)
        )

        async def go() -> list[str]:
            async with Client(stdio_client(params)) as client:
                listed = await client.list_tools()
                counted = await client.call_tool("count_syslog", {"start_time": "-3d"})
                assert not counted.is_error, counted.content[0].text
                return [t.name for t in listed.tools]

        assert "find_syslog_spikes" in anyio.run(go)
    assert not path.exists()


def _self_signed(directory: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def tls_svc(chdb_path, sec_db, credentials_dir, tmp_path_factory):
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    with running(chdb_path, credentials_dir, tls_cert=cert, tls_key=key) as s:
        yield s, cert


def test_tls_streamable_http_and_sse(tls_svc):
    s, cert = tls_svc
    assert s.url.startswith("https://")
    trust = ssl.create_default_context(cafile=cert)
    assert _run_streamable(s, trust) == {}
    assert _run_sse(s, trust) == {}
    meta = httpx2.get(s.base + "/.well-known/oauth-protected-resource/mcp", verify=trust).json()
    assert meta["resource"] == s.url


def test_tls_below_1_3_and_plain_http_refused(tls_svc):
    s, cert = tls_svc
    old = ssl.create_default_context(cafile=cert)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(s.base + "/healthz", verify=old)
    with pytest.raises(httpx2.HTTPError):
        httpx2.get(s.base.replace("https://", "http://") + "/healthz")
    current = ssl.create_default_context(cafile=cert)
    assert httpx2.get(s.base + "/healthz", verify=current).json() == {"status": "ok"}


def test_sse_can_be_off(chdb_path, sec_db, credentials_dir):
    with running(chdb_path, credentials_dir, sse=False) as s:
        r = httpx2.get(s.base + "/sse", headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 404
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        r = httpx2.post(
            s.url,
            content=json.dumps(body),
            headers={
                "Authorization": f"Bearer {ADMIN}",
                "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == 200
