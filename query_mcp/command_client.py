"""The MCP service's side of the command path: publish a command, then wait (bounded) for its outcome.

The service never acts itself. It publishes to the commands topic and follows the steps topic from the
moment it starts, so an outcome is seen however soon it comes; the latest steps of recent commands are
kept in memory for get_command_status until the worker has projected them into command_audit.

Every command it publishes is signed with the commands key (common.signing): the executor acts on nothing else.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from common import kafka_client, signing
from common.kafka_client import KafkaAccess
from schemas import commands
from schemas.commands import Command, Step
from schemas.topics import COMMAND_RESULTS, COMMANDS

log = logging.getLogger(__name__)

RECENT = 10_000
"""Commands whose steps are kept in memory."""
FETCH_WAIT_MS = 500
"""How long an empty fetch of command results waits: Apache Kafka answers it as soon as a result arrives, so
a longer wait costs the agent nothing and the idle broker less."""
ANSWERS = frozenset({"pending_approval", *commands.FINAL_STEPS})
"""Steps that answer the agent: the command is done, or waits for someone else."""


def new_id() -> str:
    return uuid.uuid4().hex


class CommandClient:
    """One per MCP service process."""

    def __init__(self, kafka: KafkaAccess, key: bytes, signing_key: bytes, wait_seconds: float) -> None:
        self._kafka = kafka
        self.key = key
        """Seals secrets (common.sealing)."""
        self._signing_key = signing_key
        self.wait_seconds = wait_seconds
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: dict[str, list[asyncio.Future[Step]]] = {}
        self.recent: collections.OrderedDict[str, list[Step]] = collections.OrderedDict()

    async def start(self) -> None:
        """Connect and take position at the end of the steps topic (before any command is published)."""
        self._producer = kafka_client.producer(self._kafka, acks="all")
        await self._producer.start()
        self._consumer = kafka_client.consumer(
            self._kafka, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=FETCH_WAIT_MS
        )
        await self._consumer.start()
        tp = TopicPartition(COMMAND_RESULTS, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_end(tp)
        await self._consumer.position(tp)
        self._task = asyncio.create_task(self._follow(tp))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for part in (self._consumer, self._producer):
            if part is not None:
                await part.stop()

    async def _follow(self, tp: TopicPartition) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(tp, timeout_ms=1000)
            for record in batches.get(tp, []):
                try:
                    step = commands.decode_step(record.value)
                except ValueError:
                    continue
                self._remember(step)
                if step.step in ANSWERS:
                    for future in self._waiters.pop(step.command_id, []):
                        if not future.done():
                            future.set_result(step)

    def _remember(self, step: Step) -> None:
        steps = self.recent.setdefault(step.command_id, [])
        steps.append(step)
        self.recent.move_to_end(step.command_id)
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    def expect(self, command_id: str) -> asyncio.Future[Step]:
        """A future for the next answering step of a command; ask before publishing, so none is missed."""
        future: asyncio.Future[Step] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(command_id, []).append(future)
        return future

    async def publish(self, command: Command) -> None:
        assert self._producer is not None
        signed = signing.sign(self._signing_key, command)
        await self._producer.send_and_wait(COMMANDS, commands.encode(signed), key=command.id.encode(), partition=0)

    async def wait(self, command_id: str, future: asyncio.Future[Step], seconds: float) -> Step | None:
        """The answering step, or None if it did not come within seconds (the command goes on regardless)."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            waiters = self._waiters.get(command_id, [])
            if future in waiters:
                waiters.remove(future)
            return None
