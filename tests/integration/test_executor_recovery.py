"""The executor killed in the middle of a snmpset and restarted: the set acts exactly once.

A real snmpd counts the SET requests it receives (snmpInSetRequests.0), read with net-snmp's snmpget. The
agent is frozen (SIGSTOP) so the executor's set waits in the agent's socket queue; the executor is killed
(SIGKILL) there. Either the agent then takes the queued set (SIGCONT: the effect happened, the executor
never heard) or the agent dies with it (SIGKILL: it never happened). A restarted executor must find the
command half done and finish it without a second set in the first case, with exactly one in the second.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.signing import sign
from common.topic_read import read_to_end
from executor import inventory, inventory_seed
from schemas import commands
from schemas.commands import Command, Step
from schemas.inventory import Node
from schemas.topics import COMMAND_RESULTS, COMMANDS
from tests import brokers
from tests.integration.pipeline import node_env, wait_for
from tests.signing_keys import KEYS
from tests.snmpd import CREDENTIALS, Snmpd

pytestmark = pytest.mark.integration

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SET_REQUESTS = "1.3.6.1.2.1.11.17.0"
"""snmpInSetRequests: SET PDUs the agent has taken in since it started."""


def _rx_queue(port: int) -> int:
    """Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port (from /proc/net/udp)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted:
            return int(fields[4].split(":")[1], 16)
    return 0


async def _steps(kafka: KafkaAccess, command_id: str) -> list[Step]:
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        found: list[Step] = []
        for record in await read_to_end(consumer, TopicPartition(COMMAND_RESULTS, 0)):
            try:
                step = commands.decode_step(record.value)
            except ValueError:
                continue  # other tests put undecodable records on the shared topic on purpose
            if step.command_id == command_id:
                found.append(step)
        return found
    finally:
        await consumer.stop()


def steps(kafka: KafkaAccess, command_id: str) -> list[str]:
    return [s.step for s in asyncio.run(_steps(kafka, command_id))]


async def _publish(kafka: KafkaAccess, *items: Command) -> None:
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for command in items:
            signed = sign(KEYS["commands"], command)
            await producer.send_and_wait(COMMANDS, commands.encode(signed), key=command.id.encode(), partition=0)
    finally:
        await producer.stop()


def publish(kafka: KafkaAccess, *items: Command) -> None:
    asyncio.run(_publish(kafka, *items))


def command(tool: str, actor: str = "recovery-test", **args: Any) -> Command:
    return Command(id=uuid.uuid4().hex, time_ns=time.time_ns(), actor=actor, tool=tool, args=args)


def decision(kind: str, actor: str, target: str) -> Command:
    return Command(
        kind=kind,  # type: ignore[arg-type]
        id=uuid.uuid4().hex,
        time_ns=time.time_ns(),
        actor=actor,
        tool=f"{kind}_command",
        target=target,
    )


class Lab:
    def __init__(self, broker: brokers.Cluster, directory: Path, **settings: str) -> None:
        self.kafka = broker.admin  # scaffolding: commands published and steps read back as the super user
        self.directory = directory
        self.agent = Snmpd(directory / "snmpd")
        self.agent.directory.mkdir(parents=True)
        self.agent.start()
        self.node = f"rec-{uuid.uuid4().hex[:8]}"
        node = Node(id=inventory.node_id(self.node), name=self.node, ip="127.0.0.1", snmp_credential="v2c-rw")
        asyncio.run(ensure_topics(broker.admin, 2, 1))
        asyncio.run(
            inventory_seed.publish(
                broker.stage("executor"), KEYS["inventory"], inventory.node_events(node, "test", time.time_ns())
            )
        )
        rw = CREDENTIALS["v2c-rw"]
        credentials = directory / "credentials.toml"
        credentials.write_text(f'[v2c-rw]\nmode = "v2c"\ncommunity = "{rw.community}"\n')
        self.env = node_env(
            broker,
            directory / "data",
            "executor",
            NETOBS_SNMP_CREDENTIALS_FILE=str(credentials),
            NETOBS_ACTIONS_SNMP_PORT=str(self.agent.port),
            NETOBS_ACTIONS_SNMP_TIMEOUT_S="30",
            NETOBS_ACTIONS_SNMP_RETRIES="0",
            NETOBS_ACTIONS_GROUP_ID=f"netobs-executor-rec-{uuid.uuid4().hex[:8]}",
            **settings,
        )
        self.runs = 0
        self.proc = self.start()

    def start(self) -> Any:
        self.runs += 1
        log = self.directory / f"executor-{self.runs}.log"
        proc = brokers.spawn([sys.executable, "-m", "netobs", "executor"], log, env=self.env)
        wait_for(lambda: "executor ready" in log.read_text() or proc.poll() is not None, 90, "the executor")
        assert proc.poll() is None, log.read_text()[-3000:]
        return proc

    def sets(self) -> int:
        return int(self.agent.get(SET_REQUESTS) or "-1")

    def contact(self) -> str | None:
        return self.agent.get(SYS_CONTACT)

    def freeze_mid_set(self, value: str) -> Command:
        """Publish a set of sysContact with the agent frozen; kill the executor once the set waits at the agent."""
        os.kill(self.agent.proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
        set_contact = command("snmpset", target=self.node, mib_object_name="sysContact.0", type="string", value=value)
        publish(self.kafka, set_contact)
        wait_for(lambda: "executing" in steps(self.kafka, set_contact.id), 60, "the executing step")
        wait_for(lambda: _rx_queue(self.agent.port) > 0, 30, "the set queued at the frozen agent")
        self.proc.kill()
        self.proc.wait(10)
        return set_contact

    def close(self) -> None:
        if self.agent.proc is not None:
            os.kill(self.agent.proc.pid, signal.SIGCONT)
        brokers.stop(self.proc)
        self.agent.stop()


@pytest.fixture
def lab(broker: brokers.Cluster, tmp_path: Path) -> Any:
    made = Lab(broker, tmp_path)
    yield made
    made.close()


def test_set_taken_by_the_agent_before_the_restart_is_not_sent_again(lab: Lab) -> None:
    before = lab.sets()
    value = f"once-{uuid.uuid4().hex[:8]}"
    set_contact = lab.freeze_mid_set(value)
    os.kill(lab.agent.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
    wait_for(lambda: lab.contact() == f'"{value}"', 30, "the queued set to take effect")
    assert lab.sets() == before + 1

    lab.proc = lab.start()
    wait_for(lambda: "executed" in steps(lab.kafka, set_contact.id), 60, "the recovered command")
    found = asyncio.run(_steps(lab.kafka, set_contact.id))
    assert [s.step for s in found] == ["requested", "executing", "executed"]
    assert json.loads(found[-1].result)["recovered"] is True
    assert lab.sets() == before + 1

    publish(lab.kafka, set_contact)  # delivered twice
    marker = command("add_event_log", event="after the duplicate")
    publish(lab.kafka, marker)
    wait_for(lambda: "executed" in steps(lab.kafka, marker.id), 60, "the marker command")
    assert steps(lab.kafka, set_contact.id) == ["requested", "executing", "executed"]
    assert lab.sets() == before + 1


def test_set_lost_with_the_agent_is_sent_once_after_the_restart(lab: Lab) -> None:
    old = lab.contact()
    value = f"lost-{uuid.uuid4().hex[:8]}"
    set_contact = lab.freeze_mid_set(value)
    assert lab.agent.proc is not None
    lab.agent.proc.kill()  # the queued datagram dies with the agent
    lab.agent.proc.wait(10)
    lab.agent.proc = None
    lab.agent.start()
    assert lab.contact() == old and lab.sets() == 0

    lab.proc = lab.start()
    wait_for(lambda: "executed" in steps(lab.kafka, set_contact.id), 60, "the recovered command")
    found = asyncio.run(_steps(lab.kafka, set_contact.id))
    assert [s.step for s in found] == ["requested", "executing", "executed"]
    assert "recovered" not in json.loads(found[-1].result)
    assert lab.contact() == f'"{value}"'
    assert lab.sets() == 1


def test_approvals_survive_a_restart_and_need_a_second_principal(broker: brokers.Cluster, tmp_path: Path) -> None:
    lab = Lab(broker, tmp_path, NETOBS_ACTIONS_APPROVAL_TOOLS="snmpset", NETOBS_ACTIONS_APPROVAL_TIMEOUT_S="600")
    try:
        before = lab.sets()
        value = f"approved-{uuid.uuid4().hex[:8]}"
        asked = command("snmpset", "alice", target=lab.node, mib_object_name="sysContact.0", type="string", value=value)
        publish(lab.kafka, asked)
        wait_for(lambda: steps(lab.kafka, asked.id) == ["requested", "pending_approval"], 60, "pending approval")
        own = decision("approve", "alice", asked.id)
        publish(lab.kafka, own)
        wait_for(lambda: steps(lab.kafka, own.id) == ["requested", "denied"], 60, "self-approval denied")
        assert "second principal" in asyncio.run(_steps(lab.kafka, own.id))[-1].reason

        lab.proc.kill()  # the pending command must be found again
        lab.proc.wait(10)
        lab.proc = lab.start()
        approval = decision("approve", "bob", asked.id)
        publish(lab.kafka, approval)
        wait_for(lambda: "executed" in steps(lab.kafka, asked.id), 90, "the approved set")
        found = asyncio.run(_steps(lab.kafka, asked.id))
        assert [s.step for s in found] == ["requested", "pending_approval", "approved", "executing", "executed"]
        assert found[2].actor == "bob"
        assert steps(lab.kafka, approval.id) == ["requested", "executed"]
        assert lab.contact() == f'"{value}"' and lab.sets() == before + 1
    finally:
        lab.close()


def test_unapproved_commands_expire_and_late_approvals_are_refused(broker: brokers.Cluster, tmp_path: Path) -> None:
    lab = Lab(broker, tmp_path, NETOBS_ACTIONS_APPROVAL_TOOLS="snmpset", NETOBS_ACTIONS_APPROVAL_TIMEOUT_S="3")
    try:
        before, contact = lab.sets(), lab.contact()
        late = command("snmpset", "alice", target=lab.node, mib_object_name="sysContact.0", type="string", value="late")
        publish(lab.kafka, late)
        wait_for(lambda: "timed_out" in steps(lab.kafka, late.id), 60, "the unapproved command to expire")
        too_late = decision("approve", "bob", late.id)
        publish(lab.kafka, too_late)
        wait_for(lambda: "denied" in steps(lab.kafka, too_late.id), 60, "an approval after the expiry refused")
        assert steps(lab.kafka, late.id) == ["requested", "pending_approval", "timed_out"]
        assert lab.contact() == contact and lab.sets() == before
    finally:
        lab.close()
