"""What the MCP service's security costs: tool calls per second through the full stack (HTTP gate with
allowlist, bearer check, body limit, JSON-RPC scope check and rate limits; MCP guard with scope check,
concurrency cap, result cap and an audit record per call) beside the same tools served bare (the SDK's
Streamable HTTP app, no gate, no guard), in the same run, rounds interleaved.

Both servers run in this process on one embedded ClickHouse with the same rows; a client process per
round sends sequential tools/call requests (search_syslog, limit 100) over keep-alive HTTP.

    python bench/mcp_security.py [--calls 400] [--rounds 5]

The last line is JSON: calls per second of each, and secured/bare (1.0 = free).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import _common
import clickhouse_connect
import httpx2
import uvicorn

from common import migrations
from common.config import McpConfig
from query_mcp import service
from query_mcp.auth.credentials import Authenticator
from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.metrics import Metrics
from query_mcp.store import Store
from tests.brokers import free_port

TOKEN = "bench-token-0123456789abcdef"
DB = "netobs"


def _serve(app: object, port: int) -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="on")
    threading.Thread(target=uvicorn.Server(config).run, daemon=True).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx2.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


def _bare_app(store: Store) -> object:
    server = service.build_server(store)
    return server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)


def _round(url: str, calls: int) -> float:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "search_syslog", "arguments": {"limit": 100, "start_time": "-1d"}},
        }
    )
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    with httpx2.Client(timeout=30) as client:
        client.post(url, content=body, headers=headers).raise_for_status()
        started = time.perf_counter()
        for _ in range(calls):
            response = client.post(url, content=body, headers=headers)
            if response.status_code != 200 or response.json()["result"].get("isError"):
                raise SystemExit(f"call failed: {response.status_code} {response.text[:300]}")
        return calls / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    _common.quiet_logs()
    data = _common.scratch_dir("netobs-bench-mcp")
    dsn = f"chdb://{data / 'clickhouse'}"
    client = clickhouse_connect.get_client(dsn=dsn)
    migrations.apply(client, DB, 90)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    client.insert(
        f"{DB}.syslog",
        [
            [now - dt.timedelta(seconds=i), "192.0.2.1", "r1", "err:daemon", "sshd", f"login failed {i}", "low"]
            for i in range(500)
        ],
        column_names=["received_at", "source", "host", "type", "tag", "message", "level"],
    )
    store = Store(dsn, DB, 30, size=4)
    secured_port, bare_port = free_port(), free_port()
    mcp = McpConfig(port=secured_port, token=TOKEN, rate_per_client=1e6, rate_per_tool=1e6)
    metrics = Metrics()
    trail = service.audit_trail("", dsn, DB, bytes)
    stop = asyncio.Event()
    server = service.build_server(store, service.guard_for(mcp, trail, metrics))
    secured = service.build_http_app(server, mcp, Authenticator(mcp, Path(data)), trail, metrics)
    _serve(secured, secured_port)
    threading.Thread(target=lambda: asyncio.run(_flush(trail, stop)), daemon=True).start()
    _serve(_bare_app(store), bare_port)
    rates: dict[str, list[float]] = {"secured": [], "bare": []}
    for i in range(args.rounds):
        for name, port in (("secured", secured_port), ("bare", bare_port))[:: 1 if i % 2 == 0 else -1]:
            rates[name].append(_round(f"http://127.0.0.1:{port}/mcp", args.calls))
        _common.say(f"round {i + 1}: secured {rates['secured'][-1]:.0f}/s, bare {rates['bare'][-1]:.0f}/s")
    audited = client.query(f"SELECT count() FROM {DB}.mcp_audit").result_rows[0][0]
    result = {
        "bench": "mcp_security",
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        "secured_calls_per_s": round(statistics.median(rates["secured"]), 1),
        "bare_calls_per_s": round(statistics.median(rates["bare"]), 1),
        "ratio_secured_to_bare": round(statistics.median(rates["secured"]) / statistics.median(rates["bare"]), 3),
        "audit_rows": audited,
    }
    print(json.dumps(result))
    return 0


async def _flush(trail: AuditTrail, stop: asyncio.Event) -> None:
    await trail.run(stop)


if __name__ == "__main__":
    sys.exit(main())
