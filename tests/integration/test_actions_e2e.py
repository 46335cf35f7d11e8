"""Actions end to end through `netobs run`: the mcp SDK client -> MCP service -> commands topic -> executor ->
a real snmpd (and the inventory, the event log) -> steps topic -> command_audit, then `netobs audit verify`.

The node manages "act-agent" (snmpd on 127.0.0.1, the v2c read-write credential) and "act-agent-v3" (the same
agent through a v3 authPriv user). actions.networks is 127.0.10.0/24 only, so 127.0.20.1 is unmanaged.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from query_mcp.auth import tokens
from tests import brokers
from tests.integration.pipeline import TOKEN, node_env, rows_of, wait_for, wait_port
from tests.snmpd import CREDENTIALS, Snmpd

pytestmark = pytest.mark.integration

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
ONE_PASSWORD = "one-password-for-both"
ONE_USER = "netobs-one"


def _credentials_toml(path: Path) -> None:
    lines = []
    for name in ("v2c-rw", "v3authpriv"):
        c = CREDENTIALS[name]
        lines.append(f"[{name}]\nmode = {json.dumps(c.mode)}")
        if c.is_v3:
            lines += [
                f"user = {json.dumps(c.user)}",
                f"auth_protocol = {json.dumps(c.auth_protocol)}",
                f"auth_password = {json.dumps(c.auth_password)}",
                f"priv_protocol = {json.dumps(c.priv_protocol)}",
                f"priv_password = {json.dumps(c.priv_password)}",
            ]
        else:
            lines.append(f"community = {json.dumps(c.community)}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def lab(broker: brokers.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("actions-node")
    agent = Snmpd(
        data / "snmpd-dir",
        extra_config=[f'createUser {ONE_USER} SHA "{ONE_PASSWORD}" AES "{ONE_PASSWORD}"', f"rwuser {ONE_USER} priv"],
    )
    agent.directory.mkdir()
    agent.start()
    credentials = data / "snmp_credentials.toml"
    _credentials_toml(credentials)
    seed = data / "inventory.toml"
    seed.write_text(
        '[[node]]\nname = "act-agent"\nip = "127.0.0.1"\nsnmp_credential = "v2c-rw"\n\n'
        '[[node]]\nname = "act-agent-v3"\nip = "127.0.0.1"\nsnmp_credential = "v3authpriv"\n'
    )
    secrets = {
        "reader": tokens.add(data / "mcp_tokens.toml", "reader", frozenset({"read:logs", "read:inventory"})),
        "operator": tokens.add(data / "mcp_tokens.toml", "operator", frozenset({"probe", "write", "read:inventory"})),
        "burst": tokens.add(data / "mcp_tokens.toml", "burst", frozenset({"probe", "write"})),
        "boss": tokens.add(data / "mcp_tokens.toml", "boss", frozenset({"approve", "probe"})),
        "admin": TOKEN,
    }
    port = brokers.free_port()
    env = node_env(
        broker,
        data,
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SNMP_CREDENTIALS_FILE=str(credentials),
        NETOBS_INVENTORY_SEED_FILE=str(seed),
        NETOBS_MCP_PORT=str(port),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_GROUP_ID=f"act-{uuid.uuid4().hex[:8]}",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
        NETOBS_ACTIONS_GROUP_ID=f"act-exec-{uuid.uuid4().hex[:8]}",
        NETOBS_ACTIONS_SNMP_PORT=str(agent.port),
        NETOBS_ACTIONS_NETWORKS="127.0.10.0/24",
        NETOBS_ACTIONS_RATE_PER_ACTOR="12",
        NETOBS_ACTIONS_APPROVAL_TOOLS="update_node",
        NETOBS_ACTIONS_WAIT_SECONDS="20",
        # The gate's per-second limits are the security suite's; here the executor's per-minute limit is tested.
        NETOBS_MCP_RATE_PER_CLIENT="1000",
        NETOBS_MCP_RATE_PER_TOOL="1000",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = data / "run.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(port, proc, log_path)
        url = f"http://127.0.0.1:{port}/mcp"
        wait_for(lambda: len(_ok(url, "get_node_list", {"name_filter": "^act-agent"})) == 2, 60, "the seeded nodes")
        yield {"url": url, "agent": agent, "tokens": secrets, "proc": proc, "data": data, "env": env, "log": log_path}
    finally:
        brokers.stop(proc)
        agent.stop()


async def _call(url: str, tool: str, args: dict[str, Any], token: str) -> tuple[bool, list[str]]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool(tool, args)
    return bool(result.is_error), [c.text for c in result.content]


def _ask(url: str, tool: str, args: dict[str, Any], token: str = TOKEN) -> tuple[bool, list[str]]:
    return asyncio.run(_call(url, tool, args, token))


def _ok(url: str, tool: str, args: dict[str, Any], token: str = TOKEN) -> Any:
    failed, texts = _ask(url, tool, args, token)
    assert not failed, f"{tool}: {texts}"
    return rows_of(json.loads(texts[0]))


def _audit(url: str, where: str) -> list[dict[str, Any]]:
    sql = (
        f"SELECT seq, command_id, step, actor, tool, args, reason FROM netobs.command_audit WHERE {where} ORDER BY seq"
    )
    answer = _ok(url, "run_select_query", {"query": sql})
    names = [c["name"] if isinstance(c, dict) else c for c in answer["columns"]]
    return [dict(zip(names, row, strict=True)) for row in answer["rows"]]


def test_snmpset_v2c_with_the_nodes_credential_reads_back(lab: Any) -> None:
    value = f"noc-{uuid.uuid4().hex[:6]}@example.net"
    rows = _ok(
        lab["url"],
        "snmpset",
        {"target": "act-agent", "mib_object_name": "sysContact.0", "type": "string", "value": value, "reason": "t"},
        lab["tokens"]["operator"],
    )
    assert rows[0]["Name"] == "sysContact.0" and rows[0]["Value"] == value
    walked = _ok(lab["url"], "snmpwalk", {"target": "act-agent", "mib_object_name": "sysContact"})
    assert [(r["Name"], r["Value"]) for r in walked] == [("sysContact.0", value)]
    assert lab["agent"].get(SYS_CONTACT) == f'"{value}"'


def test_snmpset_v3_node_credential_and_explicit_single_password(lab: Any) -> None:
    where = f"rack {uuid.uuid4().hex[:6]}"
    _ok(
        lab["url"],
        "snmpset",
        {"target": "act-agent-v3", "mib_object_name": "sysLocation.0", "type": "string", "value": where},
        lab["tokens"]["operator"],
    )
    assert lab["agent"].get(SYS_LOCATION, credential="v3authpriv") == f'"{where}"'
    again = f"room {uuid.uuid4().hex[:6]}"
    args = {"target": "127.0.0.1", "mib_object_name": "1.3.6.1.2.1.1.6.0", "type": "string", "value": again}
    args |= {"snmp_mode": "v3authpriv", "user": ONE_USER, "password": ONE_PASSWORD}
    rows = _ok(lab["url"], "snmpset", args, lab["tokens"]["operator"])
    assert rows[0]["Value"] == again
    walked = _ok(lab["url"], "snmpwalk", {"target": "act-agent-v3", "mib_object_name": "sysLocation"})
    assert walked[0]["Value"] == again
    assert lab["agent"].get(SYS_LOCATION) == f'"{again}"'
    where_sql = f"tool = 'snmpset' AND step = 'requested' AND args LIKE '%{again}%'"
    requested = wait_for(lambda: _audit(lab["url"], where_sql), 30, "the request in command_audit")
    assert len(requested) == 1 and '"password":"(sealed)"' in requested[0]["args"]
    assert ONE_PASSWORD not in json.dumps(_audit(lab["url"], "1 = 1"))
    assert ONE_PASSWORD not in lab["log"].read_text()


def test_denials_leave_the_agent_unchanged_and_are_audited(lab: Any) -> None:
    before = lab["agent"].get(SYS_CONTACT)
    operator = lab["tokens"]["operator"]
    attempts = {
        "unmanaged": {"target": "127.0.20.1", "mib_object_name": "sysContact.0", "type": "string", "value": "x1"},
        "forbidden": {"target": "act-agent", "mib_object_name": "sysDescr.0", "type": "string", "value": "x2"},
        "framework": {"target": "act-agent", "mib_object_name": "1.3.6.1.6.3.15.1.2.2.1.5.0", "type": "string"},
    }
    attempts["framework"]["value"] = "x3"
    reasons = {}
    for name, args in attempts.items():
        failed, texts = _ask(lab["url"], "snmpset", args, operator)
        assert failed and "denied: " in texts[0], texts
        reasons[name] = texts[0]
    assert "not a managed node" in reasons["unmanaged"]
    assert "snmpset_allow" in reasons["forbidden"]
    assert "snmpset_allow" in reasons["framework"] or "snmpset_deny" in reasons["framework"]

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "snmpset", "arguments": {}}}
    body["params"]["arguments"] = {"target": "act-agent", "mib_object_name": "sysContact.0", "type": "string"}
    body["params"]["arguments"]["value"] = "from-a-reader"
    headers = {"Authorization": f"Bearer {lab['tokens']['reader']}", "Accept": "application/json, text/event-stream"}
    refused = httpx.post(lab["url"], json=body, headers=headers, timeout=10)
    assert refused.status_code == 403 and "insufficient_scope" in refused.headers["www-authenticate"]

    for i in range(12):
        _ok(lab["url"], "add_event_log", {"event": f"burst {i}"}, lab["tokens"]["burst"])
    failed, texts = _ask(lab["url"], "add_event_log", {"event": "one too many"}, lab["tokens"]["burst"])
    assert failed and "rate limit" in texts[0]

    assert lab["agent"].get(SYS_CONTACT) == before
    expected = (
        "snmpset: target 127.0.20.1 is not a managed node",
        "snmpset: OID 1.3.6.1.2.1.1.1.0 is not under",
        "add_event_log: rate limit",
    )

    def by_executor(rows: list[dict[str, Any]]) -> str:
        return " | ".join(r["tool"] + ": " + r["reason"] for r in rows if r["actor"] == "executor")

    def all_denials() -> list[dict[str, Any]] | None:
        """Every denial, once this test's are projected (the shared broker may hold other tests' denials too)."""
        rows = _audit(lab["url"], "step = 'denied'")
        mine = all(e in by_executor(rows) for e in expected) and any(r["actor"] == "reader" for r in rows)
        return rows if mine else None

    denied = wait_for(all_denials, 30, "this test's denials in the audit")
    refused_here = [r["reason"] for r in denied if (r["actor"], r["tool"]) == ("reader", "snmpset")]
    assert "needs the write scope" in refused_here[0]
    requesters = {r["command_id"]: r["actor"] for r in _audit(lab["url"], "step = 'requested'")}
    assert {requesters[r["command_id"]] for r in denied if r["actor"] == "executor"} >= {"operator", "burst"}


def test_ping_add_update_with_approval_and_event_log(lab: Any) -> None:
    url, operator, boss = lab["url"], lab["tokens"]["operator"], lab["tokens"]["boss"]
    pinged = _ok(url, "do_ping", {"target": "act-agent", "timeout": 2}, operator)
    assert pinged["Result"] == "ok" and pinged["ResponseFrom"] == "127.0.0.1" and pinged["RTTNano"] > 0

    name = f"act-new-{uuid.uuid4().hex[:6]}"
    node = _ok(url, "add_node", {"name": name, "ip": "127.0.10.5", "description": "added by an agent"}, operator)
    assert node["IP"] == "127.0.10.5" and node["Name"] == name
    failed, texts = _ask(url, "add_node", {"name": name, "ip": "127.0.10.6"}, operator)
    assert failed and "exists" in texts[0]
    failed, texts = _ask(url, "add_node", {"name": name + "x", "ip": "127.0.20.5"}, operator)
    assert failed and "not a managed node" in texts[0]

    pending = _ok(url, "update_node", {"id": name, "ip": "127.0.10.6", "description": "moved"}, operator)
    assert pending["Status"] == "pending_approval"
    failed, texts = _ask(url, "approve_command", {"command_id": pending["CommandID"]}, TOKEN)
    assert not failed  # the admin is a second principal
    moved = json.loads(texts[0])
    assert moved["Status"] == "executed" and moved["CommandID"] == pending["CommandID"]
    assert moved["Result"]["node"]["IP"] == "127.0.10.6" and moved["Result"]["node"]["Description"] == "moved"
    listed = wait_for(lambda: _ok(url, "get_node_list", {"name_filter": f"^{name}$"}), 30, "the node in the list")
    wait_for(lambda: _ok(url, "get_node_list", {"name_filter": f"^{name}$"})[0]["IP"] == "127.0.10.6", 30, "new IP")
    assert listed

    own = _ok(url, "update_node", {"id": name, "description": "again"}, operator)
    failed, texts = _ask(url, "approve_command", {"command_id": own["CommandID"]}, boss)
    assert not failed
    failed, texts = _ask(url, "reject_command", {"command_id": own["CommandID"]}, boss)
    assert failed and "not waiting for approval" in texts[0]
    status = _ok(url, "get_command_status", {"command_id": own["CommandID"]}, operator)
    assert status["Status"] == "executed" and [s["Step"] for s in status["Steps"]][:2] == [
        "requested",
        "pending_approval",
    ]
    failed, texts = _ask(url, "get_command_status", {"command_id": own["CommandID"]}, lab["tokens"]["burst"])
    assert failed and "no command" in texts[0]

    text = f"maintenance window {uuid.uuid4().hex[:6]}"
    assert _ok(url, "add_event_log", {"event": text, "level": "warn", "node": name}, operator) == {"Result": "ok"}
    events = wait_for(
        lambda: _ok(url, "search_event_log", {"event_filter": text, "type_filter": "^mcp$"}), 30, "the mcp event"
    )
    assert events[0]["Level"] == "warn" and events[0]["Node"] == name


def test_audit_verify_holds_then_names_an_edited_row(lab: Any) -> None:
    wait_for(lambda: _audit(lab["url"], "step = 'executed' AND tool = 'add_event_log'"), 30, "the audit projected")
    brokers.stop(lab["proc"])
    env = lab["env"]
    verify = [sys.executable, "-m", "netobs", "audit", "verify"]
    done = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain intact" in done.stdout
    edit = (
        "import clickhouse_connect, sys;"
        f"c = clickhouse_connect.get_client(dsn='chdb://{lab['data'] / 'clickhouse'}');"
        "seq = c.query(\"SELECT min(seq) FROM netobs.command_audit WHERE step = 'denied'\").result_rows[0][0];"
        "c.command(f\"ALTER TABLE netobs.command_audit UPDATE reason = 'nothing to see' WHERE seq = {seq}\","
        " settings={'mutations_sync': 2});"
        "print(seq)"
    )
    edited = subprocess.run([sys.executable, "-c", edit], capture_output=True, text=True, timeout=120, check=True)
    seq = int(edited.stdout.strip().splitlines()[-1])
    done = subprocess.run(verify, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"seq {seq}" in done.stdout
