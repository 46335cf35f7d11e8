"""Forged records on the broker, produced with a plain aiokafka client by someone who can reach it but holds no
signing key: a command (unsigned, and signed with another key), an approval, inventory events, a step and an
MCP audit batch. `netobs run` (executor, worker, MCP service) on an Apache Kafka broker of this module's own
(the forgeries would otherwise land in the session's shared topics), a real snmpd as the managed node.

Each forgery must change nothing and be audited as refused: sysLocation stays as it was, the pending command
stays pending, the inventory and the action policy stay as they were, mcp_audit holds no forged record as
genuine, and `netobs audit verify` names the forged step.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import msgspec
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from common import kafka_client
from common.kafka_client import KafkaAccess
from common.signing import sign
from query_mcp.auth import tokens
from schemas import commands, inventory, mcp_audit
from schemas.commands import Command, Step
from schemas.inventory import InventoryEvent, Network, Node
from schemas.mcp_audit import AuditBatch, AuditRecord
from schemas.topics import COMMAND_RESULTS, COMMANDS, INVENTORY, MCP_AUDIT
from tests import brokers
from tests.integration.pipeline import TOKEN, node_env, rows_of, wait_for, wait_port
from tests.snmpd import CREDENTIALS, Snmpd

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
NOT_THE_KEY = bytes(range(100, 132))
"""What a forger signs with: a 256-bit key, not the node's."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("forged")
    port = brokers.free_port()
    try:
        kafka = brokers.start_apache_kafka(port, data / "kafka")
    except brokers.BrokerUnavailable as exc:
        pytest.skip(f"Apache Kafka unavailable: {exc}")
    agent = Snmpd(data / "snmpd-dir")
    agent.directory.mkdir()
    agent.start()
    rw = CREDENTIALS["v2c-rw"]
    credentials = data / "snmp_credentials.toml"
    credentials.write_text(f'[v2c-rw]\nmode = "v2c"\ncommunity = "{rw.community}"\n')
    seed = data / "inventory.toml"
    seed.write_text('[[node]]\nname = "forge-agent"\nip = "127.0.0.1"\nsnmp_credential = "v2c-rw"\n')
    operator = tokens.add(data / "mcp_tokens.toml", "operator", frozenset({"probe", "write", "read:inventory"}))
    mcp_port = brokers.free_port()
    env = node_env(
        kafka,
        data,
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SNMP_CREDENTIALS_FILE=str(credentials),
        NETOBS_INVENTORY_SEED_FILE=str(seed),
        NETOBS_MCP_PORT=str(mcp_port),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_WORKER_BATCH_SECONDS="0.2",
        NETOBS_ACTIONS_SNMP_PORT=str(agent.port),
        NETOBS_ACTIONS_NETWORKS="127.0.10.0/24",
        NETOBS_ACTIONS_APPROVAL_TOOLS="update_node",
        NETOBS_ACTIONS_WAIT_SECONDS="20",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = data / "run.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    try:
        wait_port(mcp_port, proc, log_path, timeout=120)
        url = f"http://127.0.0.1:{mcp_port}/mcp"
        wait_for(lambda: len(_ok(url, "get_node_list", {"name_filter": "^forge-agent$"})) == 1, 90, "the seeded node")
        yield {
            "url": url,
            "forger": kafka.admin,  # valid broker credentials, the strongest there are: only signatures stop it
            "agent": agent,
            "operator": operator,
            "proc": proc,
            "env": env,
            "log": log_path,
        }
    finally:
        brokers.stop(proc)
        agent.stop()
        brokers.stop(kafka.proc)


async def _call(url: str, tool: str, args: dict[str, Any], token: str) -> tuple[bool, str]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool(tool, args)
    return bool(result.is_error), result.content[0].text


def _ok(url: str, tool: str, args: dict[str, Any], token: str = TOKEN) -> Any:
    failed, text = asyncio.run(_call(url, tool, args, token))
    assert not failed, f"{tool}: {text}"
    return rows_of(json.loads(text))


def _sql(url: str, sql: str) -> list[dict[str, Any]]:
    answer = _ok(url, "run_select_query", {"query": sql})
    names = [c["name"] if isinstance(c, dict) else c for c in answer["columns"]]
    return [dict(zip(names, row, strict=True)) for row in answer["rows"]]


def _produce(forger: KafkaAccess, topic: str, value: bytes, key: bytes) -> None:
    async def send() -> None:
        producer = kafka_client.producer(forger, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, partition=0)
        finally:
            await producer.stop()

    asyncio.run(send())


def _snmpset(value: str) -> Command:
    args = {"target": "forge-agent", "mib_object_name": "sysLocation.0", "type": "string", "value": value}
    return Command(id=uuid.uuid4().hex, time_ns=time.time_ns(), actor="admin", tool="snmpset", args=args)


def test_forged_commands_never_act_and_are_audited_as_refused(lab: Any) -> None:
    before = lab["agent"].get(SYS_LOCATION)
    unsigned = _snmpset(f"forged-{uuid.uuid4().hex[:6]}")
    genuine_looking = sign(NOT_THE_KEY, _snmpset(f"forged-{uuid.uuid4().hex[:6]}"))
    # A command signed with the right key and altered after: here, a signature copied onto other arguments.
    altered = msgspec.structs.replace(
        genuine_looking, id=uuid.uuid4().hex, args=dict(genuine_looking.args, value="altered")
    )
    for forged in (unsigned, genuine_looking, altered):
        _produce(lab["forger"], COMMANDS, commands.encode(forged), forged.id.encode())
    ids = "', '".join(c.id for c in (unsigned, genuine_looking, altered))
    final = "('refused', 'executed', 'denied', 'failed', 'timed_out')"
    wait_for(
        lambda: (
            len(
                _sql(
                    lab["url"],
                    f"SELECT DISTINCT command_id FROM netobs.command_audit WHERE command_id IN "
                    f"('{ids}') AND step IN {final}",
                )
            )
            == 3
        ),
        60,
        "an outcome of each forged command in command_audit",
    )
    assert lab["agent"].get(SYS_LOCATION) == before
    refused = _sql(lab["url"], f"SELECT * FROM netobs.command_audit WHERE command_id IN ('{ids}')")
    assert {r["step"] for r in refused} == {"refused"}, refused
    assert all(r["actor"] == "admin" and r["tool"] == "snmpset" and r["signer"] == "executor" for r in refused)
    by_id = {r["command_id"]: r["reason"] for r in refused}
    assert "unsigned" in by_id[unsigned.id] and "does not verify" in by_id[genuine_looking.id]
    assert "does not verify" in by_id[altered.id]
    # A genuine command after them acts: the executor was there and listening.
    value = f"genuine-{uuid.uuid4().hex[:6]}"
    set_args = {"target": "forge-agent", "mib_object_name": "sysContact.0", "type": "string", "value": value}
    _ok(lab["url"], "snmpset", set_args, lab["operator"])
    assert lab["agent"].get("1.3.6.1.2.1.1.4.0") == f'"{value}"'
    assert lab["agent"].get(SYS_LOCATION) == before


def test_a_forged_approval_does_not_approve(lab: Any) -> None:
    url = lab["url"]
    pending = _ok(url, "update_node", {"id": "forge-agent", "description": "wants approval"}, lab["operator"])
    assert pending["Status"] == "pending_approval"
    target = pending["CommandID"]
    forged = Command(
        kind="approve",
        id=uuid.uuid4().hex,
        time_ns=time.time_ns(),
        actor="approver",
        tool="approve_command",
        target=target,
    )
    for decision in (forged, sign(NOT_THE_KEY, msgspec.structs.replace(forged, id=uuid.uuid4().hex))):
        _produce(lab["forger"], COMMANDS, commands.encode(decision), decision.id.encode())
        wait_for(
            lambda d=decision: _sql(url, f"SELECT step FROM netobs.command_audit WHERE command_id = '{d.id}'"),
            60,
            "the refused approval",
        )
        refusal = _sql(url, f"SELECT step, tool, args FROM netobs.command_audit WHERE command_id = '{decision.id}'")
        assert refusal == [{"step": "refused", "tool": "approve_command", "args": json.dumps({"command_id": target})}]
    status = _ok(url, "get_command_status", {"command_id": target}, lab["operator"])
    assert status["Status"] == "pending_approval", status
    node = _ok(url, "get_node_list", {"name_filter": "^forge-agent$"})[0]
    assert node["Description"] != "wants approval"


def test_forged_inventory_is_not_folded_into_the_inventory_or_the_policy(lab: Any) -> None:
    url = lab["url"]
    marker = uuid.uuid4().hex[:6]
    # The seeded node's credential, at an address of the forger's choosing; and every address made a target.
    thief = Node(id=f"thief-{marker}", name=f"thief-{marker}", ip="127.0.20.7", snmp_credential="v2c-rw")
    everything = Network(id=f"all-{marker}", name=f"all-{marker}", ip="0.0.0.0/0")
    forged = [
        InventoryEvent(kind="node", op="upsert", id=thief.id, time_ns=time.time_ns(), actor="cli", node=thief),
        sign(
            NOT_THE_KEY,
            InventoryEvent(
                kind="network", op="upsert", id=everything.id, time_ns=time.time_ns(), actor="cli", network=everything
            ),
        ),
    ]
    for event in forged:
        _produce(lab["forger"], INVENTORY, inventory.encode(event), event.key)
    refusals = wait_for(
        lambda: (
            (
                rows := _sql(
                    url,
                    "SELECT args, reason FROM netobs.command_audit WHERE step = 'refused' AND "
                    "command_id LIKE 'inventory@%'",
                )
            )
            and sum(marker in r["args"] for r in rows) == 2
            and rows
        ),
        60,
        "the refused inventory events in command_audit",
    )
    assert all("not applied" in r["reason"] for r in refusals if marker in r["args"])
    # The worker has had its time: a genuine command after the forgeries is projected...
    _ok(url, "add_node", {"name": f"real-{marker}", "ip": "127.0.10.9"}, lab["operator"])
    wait_for(lambda: _ok(url, "get_node_list", {"name_filter": f"^real-{marker}$"}), 60, "the genuine node")
    # ...and the forged ones are not, nor did they widen the action policy.
    assert _ok(url, "get_node_list", {"name_filter": f"^thief-{marker}$"}) == []
    assert not [n for n in _ok(url, "get_network_list", {}) if marker in json.dumps(n)]
    failed, text = asyncio.run(
        _call(url, "snmpwalk", {"target": "127.0.20.7", "mib_object_name": "system"}, lab["operator"])
    )
    assert failed and "not a managed node" in text, text


def test_a_forged_mcp_audit_record_does_not_land_as_genuine(lab: Any) -> None:
    url = lab["url"]
    marker = f"forged-{uuid.uuid4().hex[:8]}"
    record = AuditRecord(time.time_ns(), marker, "http", "127.0.0.1", "admin", "tools/call", "snmpset", "", "ok", "",
                         200, 1.0)  # fmt: skip
    for batch in (AuditBatch(1, [record]), sign(NOT_THE_KEY, AuditBatch(1, [record]))):
        _produce(lab["forger"], MCP_AUDIT, mcp_audit.encode(batch), b"forger")
    refused = wait_for(
        lambda: (
            (
                rows := _sql(
                    url,
                    "SELECT reason FROM netobs.mcp_audit WHERE outcome = 'refused' AND reason LIKE "
                    "'%admin%' AND time > now() - INTERVAL 10 MINUTE",
                )
            )
            and len(rows) >= 2
            and rows
        ),
        60,
        "the refused audit batches",
    )
    assert any("unsigned" in r["reason"] for r in refused) and any("does not verify" in r["reason"] for r in refused)
    assert _sql(url, f"SELECT count() AS n FROM netobs.mcp_audit WHERE service = '{marker}'") == [{"n": 0}]


def test_a_forged_step_makes_audit_verify_fail_naming_it(lab: Any) -> None:
    url = lab["url"]
    forged = Step(
        command_id=f"forged-step-{uuid.uuid4().hex[:8]}",
        step="executed",
        time_ns=time.time_ns(),
        actor="admin",
        tool="snmpset",
        result='{"rows":[]}',
    )
    _produce(lab["forger"], COMMAND_RESULTS, commands.encode(sign(NOT_THE_KEY, forged)), forged.command_id.encode())
    row = wait_for(
        lambda: _sql(url, f"SELECT step, reason FROM netobs.command_audit WHERE command_id = '{forged.command_id}'"),
        60,
        "the forged step's row",
    )
    assert row[0]["step"] == "refused" and "claimed step 'executed'" in row[0]["reason"]
    brokers.stop(lab["proc"])
    done = subprocess.run(
        [sys.executable, "-m", "netobs", "audit", "verify"],
        env=lab["env"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"command {forged.command_id}" in done.stdout and "not from the executor" in done.stdout, done.stdout
