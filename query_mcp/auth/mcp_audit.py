"""The MCP audit trail: a record per request, published to the audit topic (or, for a stdio service
that owns its embedded ClickHouse and has no broker, inserted into mcp_audit directly).

record() never blocks a request: records wait in a bounded queue and a background task sends them in
batches. A record that cannot be kept (queue full for minutes) is counted and logged, never silently lost.
Batches on the topic, and the denial steps of refused action calls, are signed with the MCP audit key
(common.signing), so the worker can tell them from forgeries.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import itertools
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from common import kafka_client, signing
from common.kafka_client import KafkaAccess
from schemas import commands, mcp_audit
from schemas.commands import Step
from schemas.mcp_audit import AuditRecord
from schemas.tables import MCP_AUDIT, MCP_AUDIT_COLUMNS
from schemas.topics import COMMAND_RESULTS
from schemas.topics import MCP_AUDIT as MCP_AUDIT_TOPIC

log = logging.getLogger(__name__)

MAX_QUEUED = 100_000
BATCH_RECORDS = 2_000
FLUSH_SECONDS = 0.2
SERVICE = f"{socket.gethostname()}:{os.getpid()}"
MAX_REASON_CHARS = 300


def args_digest(arguments: object) -> str:
    """SHA-256 of the canonical JSON of the arguments: comparable across calls, reveals nothing."""
    if not arguments:
        return ""
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def make_record(
    *,
    transport: str,
    client: str | None,
    principal: str,
    method: str,
    tool: str = "",
    arguments: object = None,
    outcome: str,
    reason: str = "",
    status: int = 0,
    started: float,
) -> AuditRecord:
    """A record for a request that started at time.monotonic() == started, stamped with when it arrived: the
    record is written after the answer went out, and its time must not fall after what the caller did next."""
    elapsed = time.monotonic() - started
    return AuditRecord(
        time_ns=time.time_ns() - int(elapsed * 1e9),
        service=SERVICE,
        transport=transport,
        client=client or "-",
        principal=principal or "-",
        method=method[:100],
        tool=tool[:100],
        args_digest=args_digest(arguments),
        outcome=outcome,
        reason=reason[:MAX_REASON_CHARS],
        status=status,
        latency_ms=round(elapsed * 1000, 3),
    )


class AuditTrail:
    """Queue in front of a sender; the sender is a coroutine taking a list of records."""

    def __init__(self, send: Callable[[list[AuditRecord]], Any]) -> None:
        self._send = send
        self._queue: collections.deque[AuditRecord] = collections.deque()
        self.dropped = 0
        self.sent = 0
        self._wake = asyncio.Event()

    def record(self, rec: AuditRecord) -> None:
        if len(self._queue) >= MAX_QUEUED:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 10_000 == 0:
                log.error("mcp audit queue full: %d records could not be kept", self.dropped)
            return
        self._queue.append(rec)

    async def run(self, stop: asyncio.Event) -> None:
        """Send batches until stop, then send what is left."""
        while True:
            stopping = stop.is_set()
            if self._queue:
                batch = list(itertools.islice(self._queue, BATCH_RECORDS))
                try:
                    await self._send(batch)
                except Exception as exc:
                    log.warning("mcp audit: %d records not sent yet (%s); retrying", len(batch), exc)
                    if stopping:
                        log.error("mcp audit: %d records lost at shutdown", len(batch))
                        return
                    await asyncio.sleep(1.0)
                    continue
                for _ in batch:
                    self._queue.popleft()
                self.sent += len(batch)
            if stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)


ACTION_TOOLS = frozenset({*commands.TOOLS, "approve_command", "reject_command"})


def refused_action(record: AuditRecord) -> Step | None:
    """A refused call of an action tool as a command step, so command_audit holds every denial of an action
    (the executor never sees a call refused here: wrong scope, rate or concurrency limit)."""
    if record.tool not in ACTION_TOOLS or record.outcome != "denied":
        return None
    return Step(
        signer="mcp",
        command_id=uuid.uuid4().hex,
        step="denied",
        time_ns=record.time_ns,
        actor=record.principal,
        client=record.client,
        tool=record.tool,
        args=json.dumps({"args_sha256": record.args_digest}) if record.args_digest else "",
        reason=f"refused by the MCP service: {record.reason}",
    )


def kafka_sender(kafka: KafkaAccess, key: bytes) -> Callable[[list[AuditRecord]], Any]:
    """Publishes to the audit topic (and refused actions to the command steps topic), signed with key (the MCP
    audit key); connects lazily so a late broker only delays the trail."""
    producer: list[AIOKafkaProducer] = []

    async def send(records: list[AuditRecord]) -> None:
        if not producer:
            p = kafka_client.producer(kafka, acks="all", request_timeout_ms=10_000)
            await p.start()
            producer.append(p)
        service = SERVICE.encode()
        batch = signing.sign(key, mcp_audit.AuditBatch(1, records))
        await producer[0].send_and_wait(MCP_AUDIT_TOPIC, mcp_audit.encode(batch), key=service)
        for step in filter(None, map(refused_action, records)):
            signed = signing.sign(key, step)
            await producer[0].send_and_wait(
                COMMAND_RESULTS, commands.encode(signed), key=step.command_id.encode(), partition=0
            )

    return send


def table_sender(client: Any, database: str) -> Callable[[list[AuditRecord]], Any]:
    """Inserts into mcp_audit directly (stdio without a broker: this process owns the embedded ClickHouse)."""

    def insert(records: list[AuditRecord]) -> None:
        rows = [mcp_audit.row(r, 0, 0, seq) for seq, r in enumerate(records)]
        values = [[row[column] for column in MCP_AUDIT_COLUMNS] for row in rows]
        client.insert(f"{database}.{MCP_AUDIT}", values, column_names=list(MCP_AUDIT_COLUMNS))

    async def send(records: list[AuditRecord]) -> None:
        await asyncio.to_thread(insert, records)

    return send
