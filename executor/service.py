"""The command executor (`netobs executor`): commands topic -> checks and policy -> action -> a step per event.

One executor holds the one commands partition at a time (a second one in the group stands by). Its
memory is the steps topic, folded at start (executor.command_book). Every step is acknowledged by the
broker before the executor goes on, and the step "executing" is written before anything leaves the
machine, so a command redelivered after a crash is recognised: finished ones are skipped, and one caught
mid-action is recovered without a second effect (executor.actions). The committed offset never passes
a command that waits for approval, so a restart finds it again.

Every record it trusts is signed (common.signing): a command, approval or rejection that is unsigned or
altered is never acted on and gets a step "refused" naming why; steps and inventory events that do not
verify are left out of its memory and inventory, and an inventory event refused is recorded as a step
"refused" too (command id "inventory@<offset>", once). Its own steps and inventory events it signs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from common import kafka_client, sealing, signing
from common.config import ActionsConfig
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.snmp.credentials import SnmpCredential
from common.topic_read import read_to_end
from executor import actions, policy
from executor import inventory as inv
from executor.command_book import Book
from executor.snmp import ActionFailed, ActionTimeout
from schemas import command_args, commands
from schemas import events as events_wire
from schemas import inventory as inventory_wire
from schemas.commands import EXECUTOR, FINAL_STEPS, Command, Step
from schemas.events import Event
from schemas.inventory import InventoryEvent
from schemas.topics import COMMAND_RESULTS, COMMANDS, EVENTS, INVENTORY, partition_for

log = logging.getLogger(__name__)

FETCH_WAIT_MS = 500
"""How long an empty fetch waits for a command. Apache Kafka answers a waiting fetch as soon as a record
arrives, so this costs no latency; shorter waits only make an idle node's broker answer more empty fetches
(at 20 ms the executor and the MCP service kept about 7 % of a core busy between them)."""
DECIDED = frozenset({"approved", "executing", *FINAL_STEPS})


@dataclass(frozen=True)
class Keys:
    """The executor's keys: sealing (secrets from the MCP service) and the signing keys it checks and signs with."""

    command: bytes
    """Seals secrets (common.sealing)."""
    commands: bytes
    steps: bytes
    inventory: bytes


class Executor:
    """State and edges of one executor; run() drives it."""

    def __init__(
        self, settings: ActionsConfig, credentials: Mapping[str, SnmpCredential], kafka: KafkaAccess, keys: Keys
    ) -> None:
        self._kafka = kafka
        self._keys = keys
        self._group = settings.group_id
        self.policy = policy.from_config(settings)
        self.book = Book()
        self.inventory = inv.Inventory()
        self.waiting: dict[str, tuple[Command, int]] = {}
        """Commands pending approval -> (command, its offset in the commands topic)."""
        self.ctx = actions.Context(self.inventory, credentials, settings, self._publish_inventory, self._publish_event)
        self._producer: AIOKafkaProducer | None = None
        self.counts = {"commands": 0, "undecodable": 0, "refused": 0, "steps": 0}
        self.steps: collections.Counter[tuple[str, str]] = collections.Counter()
        """Steps recorded by (tool, step): requested, approved, done, failed, denied, ... (the metrics read it)."""

    async def run(self, stop: asyncio.Event) -> None:
        self._producer = kafka_client.producer(self._kafka, acks="all")
        await self._producer.start()
        follower = None
        commands_consumer = None
        try:
            follower = await self._load()
            commands_consumer = kafka_client.consumer(
                self._kafka,
                COMMANDS,
                group_id=self._group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=10_000,
                heartbeat_interval_ms=2_000,
                fetch_max_wait_ms=FETCH_WAIT_MS,
            )
            await commands_consumer.start()
            log.info(
                "executor ready: %d nodes, %d commands known, %d pending approval",
                len(self.inventory.nodes),
                len(self.book.last),
                len(self.book.pending()),
            )
            while not stop.is_set():
                batches = await commands_consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    for record in records:
                        await self._handle(record)
                        await self._commit(commands_consumer, tp, record.offset + 1)
                await self._expire_approvals()
        finally:
            for part in (commands_consumer, follower):
                if isinstance(part, asyncio.Task):
                    part.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await part
                elif part is not None:
                    await part.stop()
            await self._producer.stop()

    async def _load(self) -> asyncio.Task[None]:
        """Fold the steps topic and read the inventory to its end; then keep following the inventory."""
        consumer = kafka_client.consumer(self._kafka, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            for record in await read_to_end(consumer, TopicPartition(COMMAND_RESULTS, 0)):
                with contextlib.suppress(ValueError):
                    step = commands.decode_step(record.value)
                    # Only its own steps: the MCP service's denials are of no command it knows, and a forged
                    # "approved" or "executed" must not decide a command.
                    if step.signer == EXECUTOR and signing.refusal(self._keys.steps, step) is None:
                        self.book.record(step)
                    else:
                        log.warning("steps offset %d: a step not signed by the executor, ignored", record.offset)
        finally:
            await consumer.stop()
        inventory_consumer = kafka_client.consumer(self._kafka, enable_auto_commit=False, group_id=None)
        await inventory_consumer.start()
        tp = TopicPartition(INVENTORY, 0)
        for record in await read_to_end(inventory_consumer, tp):
            await self._apply_inventory(record)
        return asyncio.create_task(self._follow_inventory(inventory_consumer, tp))

    async def _follow_inventory(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        try:
            while True:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    await self._apply_inventory(record)
        finally:
            await consumer.stop()

    async def _apply_inventory(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = inventory_wire.decode(record.value)
        except ValueError:
            log.warning("inventory offset %d: undecodable event skipped", record.offset)
            return
        why = signing.refusal(self._keys.inventory, event)
        if why is None:
            inv.apply(self.inventory, event)
            return
        refusal_id = f"inventory@{record.offset}"
        log.warning("inventory offset %d: event refused (%s), not applied", record.offset, why)
        if refusal_id not in self.book.refused:
            self.counts["refused"] += 1
            await self._step(
                refusal_id,
                "refused",
                actor=event.actor,
                tool=f"inventory_{event.op}",
                args=json.dumps({"kind": event.kind, "id": event.id}, sort_keys=True, separators=(",", ":")),
                reason=f"inventory event refused: {why}; not applied",
            )

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        """Commit up to the oldest command still waiting for approval, else past the one just handled."""
        held = [offset for _, offset in self.waiting.values()]
        await consumer.commit({tp: min([*held, next_offset])})

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self.counts["commands"] += 1
        try:
            command = commands.decode_command(record.value)
        except ValueError as exc:
            self.counts["undecodable"] += 1
            log.warning("commands offset %d: not a command, skipped (%s)", record.offset, exc)
            return
        why = signing.refusal(self._keys.commands, command)
        if why is not None:
            self.counts["refused"] += 1
            log.warning("commands offset %d: %s %s refused (%s)", record.offset, command.kind, command.id, why)
            shown = (
                commands.audit_args(command)
                if command.kind == "request"
                else json.dumps({"command_id": command.target})
            )
            await self._step(
                command.id,
                "refused",
                actor=command.actor,
                client=command.client,
                tool=command.tool if command.kind == "request" else f"{command.kind}_command",
                args=shown,
                reason=f"{command.kind} refused: {why}; not acted on",
            )
            return
        if command.kind == "request":
            await self._request(command, record.offset)
        else:
            await self._decide(command)

    async def _request(self, command: Command, offset: int) -> None:
        last = self.book.last.get(command.id)
        if last in FINAL_STEPS:
            return
        if last == "pending_approval":
            self.waiting[command.id] = (command, offset)
            return
        if last is None:
            await self._step(
                command.id,
                "requested",
                actor=command.actor,
                time_ns=command.time_ns,
                client=command.client,
                tool=command.tool,
                args=commands.audit_args(command),
                reason=command.reason,
            )
        prepared = await self._prepare(command)
        if prepared is None:
            return
        args, secrets = prepared
        accepted_before = last in ("approved", "executing")
        times = [] if accepted_before else self.book.times_of(command.actor)
        review = policy.review(command.tool, args, self.inventory, self.policy, times, command.time_ns)
        if review.verdict == "deny":
            await self._step(command.id, "denied", reason=review.reason)
        elif review.verdict == "approve" and not accepted_before:
            await self._step(command.id, "pending_approval", reason=review.reason)
            self.waiting[command.id] = (command, offset)
        else:
            await self._execute(command, args, secrets, review, recovering=last == "executing")

    async def _prepare(self, command: Command) -> tuple[dict[str, Any], dict[str, str]] | None:
        """Checked arguments and opened secrets, or None after recording why the command is denied."""
        try:
            args = command_args.check(command.tool, command.args)
            secrets = sealing.unseal(self._keys.command, command.id, command.sealed)
        except (command_args.ArgError, sealing.SealError) as exc:
            await self._step(command.id, "denied", reason=str(exc))
            return None
        return args, secrets

    async def _execute(
        self,
        command: Command,
        args: dict[str, Any],
        secrets: dict[str, str],
        review: policy.Review,
        recovering: bool,
    ) -> None:
        if not recovering:
            await self._step(command.id, "executing")
        else:
            log.info("command %s (%s) was executing when the executor stopped: recovering", command.id, command.tool)
        try:
            result = await actions.perform(command, args, secrets, review, self.ctx, recovering)
        except ActionTimeout as exc:
            await self._step(command.id, "timed_out", reason=str(exc))
        except ActionFailed as exc:
            await self._step(command.id, "failed", reason=str(exc))
        except Exception as exc:
            log.exception("command %s (%s) failed unexpectedly", command.id, command.tool)
            await self._step(command.id, "failed", reason=f"internal error ({type(exc).__name__}); see executor log")
        else:
            await self._step(command.id, "executed", result=json.dumps(result, ensure_ascii=False, default=str))

    async def _decide(self, decision: Command) -> None:
        """An approval or rejection: a command of its own (requested, then executed or denied), acting on target."""
        if self.book.last.get(decision.id) in FINAL_STEPS:
            return
        tool = f"{decision.kind}_command"
        target = decision.target
        if decision.id not in self.book.last:
            args = json.dumps({"command_id": target}, sort_keys=True, separators=(",", ":"))
            await self._step(
                decision.id,
                "requested",
                actor=decision.actor,
                time_ns=decision.time_ns,
                client=decision.client,
                tool=tool,
                args=args,
                reason=decision.reason,
            )
        done = json.dumps({"command_id": target, "decision": decision.kind})
        last = self.book.last.get(target)
        if last in DECIDED and self.book.decided_by.get(target) == decision.id:
            await self._step(decision.id, "executed", result=done)
            return
        refusal = None
        if last != "pending_approval":
            refusal = f"command {target} is not waiting for approval (its last step: {last or 'none known'})"
        elif self.book.requester.get(target) == decision.actor:
            refusal = f"{decision.actor} asked for command {target}; a second principal must decide on it"
        elif target not in self.waiting:
            refusal = f"command {target} waits for approval but its request is not at hand; ask again"
        if refusal is not None:
            await self._step(decision.id, "denied", reason=refusal)
            return
        command, _ = self.waiting.pop(target)
        step = "approved" if decision.kind == "approve" else "rejected"
        await self._step(
            target,
            step,
            actor=decision.actor,
            client=decision.client,
            reason=decision.reason,
            result=json.dumps({"decision_id": decision.id}),
        )
        await self._step(decision.id, "executed", result=done)
        if step == "approved":
            await self._request(command, -1)

    async def _expire_approvals(self) -> None:
        now = time.time_ns()
        for command_id, requested in self.book.pending().items():
            if now - requested > self.policy.approval_timeout_ns:
                self.waiting.pop(command_id, None)
                seconds = self.policy.approval_timeout_ns / 1e9
                await self._step(command_id, "timed_out", reason=f"not approved within {seconds:g} s")

    async def _step(
        self,
        command_id: str,
        step: str,
        *,
        actor: str = EXECUTOR,
        time_ns: int = 0,
        client: str = "",
        tool: str = "",
        args: str = "",
        reason: str = "",
        result: str = "",
    ) -> None:
        """Record a step: acknowledged by the broker, then known to the book."""
        record = Step(
            signer=EXECUTOR,
            command_id=command_id,
            step=step,
            time_ns=time_ns or time.time_ns(),
            actor=actor,
            client=client,
            tool=tool or self.book.tool.get(command_id, ""),
            args=args,
            reason=reason,
            result=result,
        )
        record = signing.sign(self._keys.steps, record)
        assert self._producer is not None
        await self._producer.send_and_wait(
            COMMAND_RESULTS, commands.encode(record), key=command_id.encode(), partition=0
        )
        self.book.record(record)
        self.counts["steps"] += 1
        self.steps[(record.tool, step)] += 1
        log.info("command %s: %s%s", command_id, step, f" ({record.reason})" if record.reason else "")

    async def _publish_inventory(self, events: list[InventoryEvent]) -> None:
        assert self._producer is not None
        for unsigned in events:
            event = signing.sign(self._keys.inventory, unsigned)
            await self._producer.send_and_wait(INVENTORY, inventory_wire.encode(event), key=event.key, partition=0)
            inv.apply(self.inventory, event)

    async def _publish_event(self, event: Event) -> None:
        assert self._producer is not None
        partitions = len(await self._producer.partitions_for(EVENTS))
        batch = events_wire.encode(events_wire.EventBatch(events_wire.WIRE_VERSION, [event]))
        partition = partition_for(event.node_id, partitions)
        await self._producer.send_and_wait(EVENTS, batch, key=event.node_id.encode(), partition=partition)


async def serve(
    settings: ActionsConfig,
    credentials: Mapping[str, SnmpCredential],
    kafka: KafkaAccess,
    stop: asyncio.Event,
    *,
    keys: Keys,
    partitions: int,
    replication_factor: int = 1,
    on_start: Callable[[Executor], None] | None = None,
) -> None:
    """Run the executor until stop (the `netobs executor` entry point); on_start is handed the executor before
    it runs (its metrics read it)."""
    await ensure_topics(kafka, partitions, replication_factor)
    executor = Executor(settings, credentials, kafka, keys)
    if on_start is not None:
        on_start(executor)
    await executor.run(stop)
    log.info("executor stopped: %s", executor.counts)
