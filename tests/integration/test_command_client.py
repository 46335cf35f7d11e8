"""query_mcp.command_client against the real broker: a restarted MCP service knows the steps it did not see.

After a crash of the whole node the worker may not have projected a command's last steps into command_audit
yet; get_command_status must still give the command's latest step, from its first answer (the steps here are
a final pair: this broker is shared, and other tests' executors must not find a command waiting).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from common import kafka_client, signing
from query_mcp.command_client import CommandClient
from schemas import commands
from schemas.commands import Step
from schemas.topics import COMMAND_RESULTS
from tests import brokers
from tests.signing_keys import KEYS

pytestmark = pytest.mark.integration


async def _publish(cluster: brokers.Cluster, steps: list[Step]) -> None:
    """As the executor would: signed, so the other tests' nodes on this broker take them as genuine history."""
    producer = kafka_client.producer(cluster.admin, acks="all")
    await producer.start()
    try:
        for step in steps:
            await producer.send_and_wait(
                COMMAND_RESULTS, commands.encode(signing.sign(KEYS["steps"], step)), partition=0
            )
    finally:
        await producer.stop()


def test_steps_published_before_the_start_are_known_once_started(broker: brokers.Cluster) -> None:
    command_id = uuid.uuid4().hex
    steps = [
        Step(command_id=command_id, step="requested", time_ns=time.time_ns(), actor="operator", tool="do_ping"),
        Step(command_id=command_id, step="denied", time_ns=time.time_ns(), actor="executor", reason="a test's"),
    ]

    async def run() -> list[str]:
        await _publish(broker, steps)
        client = CommandClient(broker.stage("mcp"), b"k" * 32, b"s" * 32, wait_seconds=1.0)
        await client.start()
        try:
            return [step.step for _, step in client.recent.get(command_id, [])]
        finally:
            await client.stop()

    assert asyncio.run(run()) == ["requested", "denied"]
