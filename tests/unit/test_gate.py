"""The gate's middleware chain without a network: what reaches the app, what is refused, what is audited."""

import asyncio
import json

from query_mcp.auth.access import parse_networks
from query_mcp.auth.gate.chain import GateSettings, behind_gate
from query_mcp.auth.gate.state import state_of
from query_mcp.auth.mcp_audit import AuditTrail
from query_mcp.auth.scopes import Principal
from query_mcp.metrics import Metrics

PEER = ("127.0.0.1", 40000)
READER = Principal("reader", frozenset({"read:logs"}), "token")


def _authenticate(presented):
    return (READER, "") if presented == "reader-token" else (None, "unknown token")


def _settings(**changes):
    base = {
        "allow_from": parse_networks(["10.0.0.0/8", "127.0.0.1/32"]),
        "trusted_proxies": parse_networks(["127.0.0.1/32"]),
        "max_body_bytes": 1024,
        "rate_per_client": 1000.0,
        "rate_per_tool": 1000.0,
        "metrics_access": "token",
        "resource_url": "http://127.0.0.1:8000/mcp",
    }
    return GateSettings(**(base | changes))


class App:
    """The app behind the gate: keeps what reached it and answers 200."""

    def __init__(self):
        self.seen = []

    async def __call__(self, scope, receive, send):
        first, after = await receive(), await receive()
        self.seen.append((state_of(scope), first.get("body", b""), after["type"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _request(gate, path, body=b"", headers=(), method="POST"):
    """(status, headers, body) of one request through gate."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers]
    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": raw, "client": PEER}
    incoming = [{"type": "http.request", "body": body, "more_body": False}, {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    start, body_out = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body_out


SENT = []


async def _keep(records):
    SENT.extend(records)


def _audited(trail):
    """The records trail sends (all of them: it is stopped before it starts)."""
    SENT.clear()
    stop = asyncio.Event()
    stop.set()
    asyncio.run(trail.run(stop))
    return list(SENT)


def _gate(**changes):
    app, metrics = App(), Metrics()
    trail = AuditTrail(_keep)
    gate = behind_gate(app, _settings(**changes), _authenticate, trail, metrics)
    return gate, app, trail, metrics


def _call(tool):
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool}}).encode()


def test_the_app_gets_the_body_once_and_the_request_state():
    gate, app, _, _ = _gate()
    auth = ("Authorization", "Bearer reader-token")
    status, _, _ = _request(gate, "/messages/", _call("search_syslog"), [auth, ("X-Forwarded-For", "10.1.2.3")])
    assert status == 200
    ((state, body, after),) = app.seen
    assert body == _call("search_syslog") and after == "http.disconnect"
    assert (state.principal, state.client, state.transport, state.tool) == (READER, "10.1.2.3", "sse", "search_syslog")


def test_repeated_forwarded_for_the_proxys_last_line_counts():
    gate, _, _, _ = _gate(allow_from=parse_networks(["10.0.0.0/8"]))
    auth = ("Authorization", "Bearer reader-token")
    allowed, other = ("X-Forwarded-For", "10.1.2.3"), ("X-Forwarded-For", "192.0.2.9")
    assert _request(gate, "/mcp", b"{}", [auth, allowed, other])[0] == 403
    assert _request(gate, "/mcp", b"{}", [auth, other, allowed])[0] == 200


def test_refusal_is_json_audited_and_counted_and_never_reaches_the_app():
    gate, app, trail, metrics = _gate()
    status, headers, body = _request(gate, "/mcp", _call("snmpset"), [("Authorization", "Bearer reader-token")])
    assert status == 403 and json.loads(body)["error"] == "insufficient_scope"
    assert 'scope="write"' in headers["www-authenticate"] and not app.seen
    (record,) = _audited(trail)
    assert (record.principal, record.client, record.tool) == ("reader", "127.0.0.1", "snmpset")
    assert (record.method, record.outcome, record.status) == ("tools/call", "denied", 403)
    assert metrics.value("netobs_mcp_denials_total", reason="insufficient_scope") == 1


def test_open_paths_skip_the_client_rate_and_metrics_follow_their_exposure():
    gate, _, _, metrics = _gate(rate_per_client=0.001, metrics_access="open")
    for _ in range(5):
        assert _request(gate, "/healthz", method="GET")[0] == 200
    assert _request(gate, "/metrics", method="GET")[0] == 200
    status, headers, _ = _request(gate, "/metrics", method="GET")
    assert status == 429 and int(headers["retry-after"]) >= 1
    off, _, _, _ = _gate(metrics_access="off")
    assert _request(off, "/metrics", method="GET", headers=[("Authorization", "Bearer reader-token")])[0] == 404
    token, _, _, _ = _gate()
    assert _request(token, "/metrics", method="GET")[0] == 401
    assert _request(token, "/metrics", method="GET", headers=[("Authorization", "Bearer reader-token")])[0] == 403
    assert metrics.value("netobs_mcp_requests_total", outcome="ok") == 0, "only MCP requests are counted"
