"""The MCP service's side of the command path: publish a command, then wait (bounded) for its outcome.

The service never acts itself. It publishes to the commands topic and follows the steps topic, so an outcome
is seen however soon it comes. The steps of recent commands are kept in memory for get_command_status, which
adds them to what the worker has projected into command_audit: at its start the service reads back the topic's
tail, so a status is current from its first answer even when the worker has not caught up (after a crash).

Every command it publishes is signed with the commands key (common.signing): the executor acts on nothing else.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from common import kafka_client, signing
from common.kafka_client import KafkaAccess
from common.topic_read import read_to_end
from schemas import commands
from schemas.commands import Command, Step
from schemas.topics import COMMAND_RESULTS, COMMANDS

log = logging.getLogger(__name__)

RECENT = 10_000
"""Commands whose steps are kept in memory."""
READ_BACK = 5 * RECENT
"""Steps read back from the steps topic's tail at start: about five a command."""
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
        self.recent: collections.OrderedDict[str, list[tuple[int, Step]]] = collections.OrderedDict()
        """Steps by command, each with its offset in the steps topic."""

    async def start(self) -> None:
        """Connect and read the steps topic's tail to its end (before any command is published or status asked)."""
        self._producer = kafka_client.producer(self._kafka, acks="all")
        await self._producer.start()
        self._consumer = kafka_client.consumer(
            self._kafka, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=FETCH_WAIT_MS
        )
        await self._consumer.start()
        tp = TopicPartition(COMMAND_RESULTS, 0)
        tail = await read_to_end(self._consumer, tp, last=READ_BACK)
        for record in tail:
            self._take(record)
        log.info(
            "command path: %d steps of %d recent commands read back from %s", len(tail), len(self.recent), tp.topic
        )
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
                self._take(record)

    def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            step = commands.decode_step(record.value)
        except ValueError:
            return
        self._remember(record.offset, step)
        if step.step in ANSWERS:
            for future in self._waiters.pop(step.command_id, []):
                if not future.done():
                    future.set_result(step)

    def _remember(self, offset: int, step: Step) -> None:
        steps = self.recent.setdefault(step.command_id, [])
        steps.append((offset, step))
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


def merge_steps(stored: Sequence[tuple[int, Step]], seen: Sequence[tuple[int, Step]]) -> list[Step]:
    """A command's steps in topic order: those projected into command_audit, then those this service saw past
    the last projected one (the worker projects in order, so the stored steps are the first ones)."""
    last = max((offset for offset, _ in stored), default=-1)
    return [step for _, step in stored] + [step for offset, step in seen if offset > last]
