"""The SNMP trap ingest stage: socket -> decode (v1/v2c fast path, v3 through the USM) -> batches -> Kafka.

Unlike syslog, traps are decoded at the edge: only the receiver holds the communities and the v3 keys,
and neither may reach a topic. Informs are acknowledged once decoded, before Kafka has the trap, as
snmptrapd does: an inform sender waits milliseconds, not for a broker. What Kafka does not take is
counted as dropped, like UDP syslog.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from common.config import SnmpConfig
from common.kafka_client import KafkaAccess
from common.snmp.credentials import SnmpCredential
from ingest.kafka_producer import BoundedProducer
from ingest.spool.disk import SpoolStats, open_spool
from ingest.traps.decode import AUTH, COMMUNITY, DISCOVERY, MALFORMED, UNSUPPORTED, V3, Rejected, decode, peek_version
from ingest.traps.receiver import Datagram, TrapReceiver, open_trap_socket, send_reply
from ingest.traps.usm import UsmReceiver
from ingest.udp import source_of
from schemas.topics import SNMP_TRAPS, partition_for
from schemas.traps import WIRE_VERSION, Trap, TrapBatch

log = logging.getLogger("netobs.ingest")

DRAIN_SECONDS = 10.0
LOG_SECONDS = 30.0
MIN_QUEUE_TRAPS = 100_000
"""Traps the receiving thread may hand to the loop before it drops them (at least 20 batches)."""
QUEUE_BYTES = 64 * 1024 * 1024
"""Encoded trap records waiting for Kafka acknowledgement before new ones are spooled (or dropped, counted)."""
BATCH_BYTES = 700_000
"""Estimated record size at which a batch is cut: below Kafka's default message.max.bytes (1 MiB)."""
RENDERED_PER_BYTE = 3
TRAP_OVERHEAD = 200
"""A decoded trap is at most ~3x its datagram (hex renders a byte as "xx:") plus names and fields."""
NOTE_SECONDS = 30.0
"""A rejection is logged (sender and why) at most once per reason in this interval; the rest are counted."""


@dataclasses.dataclass
class TrapCounters:
    """Totals since start; touched on the event loop thread only."""

    received: int = 0
    """Datagrams taken from the socket."""
    bytes: int = 0
    accepted: int = 0
    """Traps and informs decoded and queued for Kafka."""
    rejected_community: int = 0
    rejected_auth: int = 0
    """v3: unknown user, wrong digest or key, outside the time window, below the user's security level."""
    malformed: int = 0
    unsupported: int = 0
    """Valid SNMP that is not a notification (a get, a response)."""
    discovery: int = 0
    """v3 engine-id discovery probes, answered with a Report."""
    informs_acked: int = 0
    delivered: int = 0
    """Traps acknowledged by Kafka (published)."""
    batches: int = 0
    """Kafka records acknowledged."""
    retried: int = 0
    """Traps sent again because the broker was away (a retriable failure); not lost."""
    dropped: int = 0
    """Traps lost after decoding (Kafka queue full with no spool, or refusing them) or datagrams the event loop
    could not keep up with."""
    spooled: int = 0
    """Traps written to the spool (the queue full or the broker stalled); sent from there later."""
    dropped_spool_full: int = 0
    """Traps dropped because the spool had reached snmp.trap_spool_max_bytes (the newest are dropped)."""
    dropped_spool_error: int = 0
    """Traps dropped because writing them to the spool failed (disk full, I/O error)."""
    kernel_dropped: int = 0
    """Datagrams the kernel dropped because the socket buffer was full (from /proc/net/udp)."""

    def __post_init__(self) -> None:
        self.refreshers: list[Callable[[], None]] = []
        """Called before the counters are read for metrics, to update kernel_dropped (not a field: not logged)."""
        self.spool = SpoolStats()
        """The trap spool's files (ingest.spool.disk keeps it current)."""

    def __getitem__(self, _transport: str) -> TrapCounters:
        """BoundedProducer books deliveries under counters[record.transport]; traps have one set of counters."""
        return self

    def count(self, reason: str) -> None:
        """Count a rejected datagram under its reason (ingest.traps.decode's constants)."""
        name = _REASON_COUNTER[reason]
        setattr(self, name, getattr(self, name) + 1)


class _TrapRecord(TrapBatch, frozen=True, array_like=True):
    """A TrapBatch as BoundedProducer takes a record (it names the counters by transport); encodes as TrapBatch."""

    transport: ClassVar[str] = "snmp"


_REASON_COUNTER = {
    COMMUNITY: "rejected_community",
    AUTH: "rejected_auth",
    MALFORMED: "malformed",
    UNSUPPORTED: "unsupported",
    DISCOVERY: "discovery",
}


def communities_of(snmp: SnmpConfig) -> frozenset[bytes]:
    """The accepted communities: trap_communities only. The credentials file's communities are for polling and
    actions, often read-write; accepting them here would invite devices to send them in clear in every trap."""
    return frozenset(c.encode() for c in snmp.trap_communities)


class _Batcher:
    """Traps per partition, cut at batch traps, at about BATCH_BYTES, or when the oldest has waited batch_ms."""

    def __init__(self, partitions: int, batch: int, batch_ms: int) -> None:
        self.partitions = partitions
        self.batch = batch
        self.seconds = batch_ms / 1000
        self._pending: list[list[Trap]] = [[] for _ in range(partitions)]
        self._bytes = [0] * partitions
        self._since = [0.0] * partitions

    def add(self, trap: Trap, datagram_bytes: int) -> tuple[int, _TrapRecord] | None:
        """Queue a trap decoded from a datagram of that size; a record when its partition is full."""
        partition = partition_for(trap.source, self.partitions)
        pending = self._pending[partition]
        if not pending:
            self._since[partition] = time.monotonic()
        pending.append(trap)
        self._bytes[partition] += RENDERED_PER_BYTE * datagram_bytes + TRAP_OVERHEAD
        full = len(pending) >= self.batch or self._bytes[partition] >= BATCH_BYTES
        return self._cut(partition) if full else None

    def expired(self, now: float) -> list[tuple[int, _TrapRecord]]:
        return [
            self._cut(p) for p, pending in enumerate(self._pending) if pending and now - self._since[p] >= self.seconds
        ]

    def drain(self) -> list[tuple[int, _TrapRecord]]:
        return [self._cut(p) for p, pending in enumerate(self._pending) if pending]

    def _cut(self, partition: int) -> tuple[int, _TrapRecord]:
        traps, self._pending[partition] = self._pending[partition], []
        self._bytes[partition] = 0
        return partition, _TrapRecord(version=WIRE_VERSION, traps=traps)


class _Notes:
    """Rate-limited log lines about rejected datagrams, so a flood is visible without flooding the log."""

    def __init__(self, seconds: float = NOTE_SECONDS) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}

    def rejected(self, source: str, outcome: Rejected) -> None:
        now = time.monotonic()
        if now - self._last.get(outcome.reason, -self.seconds) < self.seconds:
            return
        self._last[outcome.reason] = now
        level = logging.DEBUG if outcome.reason == DISCOVERY else logging.WARNING
        log.log(
            level,
            "snmp datagram from %s rejected (%s): %s; further ones are counted, next note in %.0fs",
            source,
            outcome.reason,
            outcome.detail,
            self.seconds,
        )

    def failed(self, source: str) -> None:
        """Decoding raised: log the traceback (rate-limited like rejections), the datagram is counted malformed."""
        now = time.monotonic()
        if now - self._last.get("error", -self.seconds) >= self.seconds:
            self._last["error"] = now
            log.exception("snmp datagram from %s could not be decoded; counted as malformed", source)


class _Handler:
    """On the event loop: decode runs of datagrams, answer informs, batch the traps, offer records to Kafka."""

    def __init__(
        self,
        communities: frozenset[bytes],
        usm: UsmReceiver,
        send: Callable[[bytes, tuple[str, int]], bool],
        batcher: _Batcher,
        producer: BoundedProducer,
        counters: TrapCounters,
    ) -> None:
        self.communities = communities
        self.usm = usm
        self.send = send
        self.batcher = batcher
        self.producer = producer
        self.counters = counters
        self.notes = _Notes()

    def deliver(self, run: list[Datagram]) -> None:
        counters = self.counters
        for received_ns, data, address in run:
            counters.received += 1
            counters.bytes += len(data)
            source = source_of(address[0])
            try:
                if peek_version(data) == V3:
                    outcome = self.usm.receive(data, source, address, received_ns)
                else:
                    outcome = decode(data, source, received_ns, self.communities)
            except Exception:  # a bug must cost one datagram, not the run or the receiver
                counters.malformed += 1
                self.notes.failed(source)
                continue
            if isinstance(outcome, Rejected):
                counters.count(outcome.reason)
                self.notes.rejected(source, outcome)
                continue
            counters.accepted += 1
            if outcome.trap.pdu == "inform" and (outcome.response is None or self.send(outcome.response, address)):
                counters.informs_acked += 1
            self.offer(self.batcher.add(outcome.trap, len(data)))

    def offer(self, record: tuple[int, _TrapRecord] | None, force: bool = False) -> None:
        if record is not None:
            self.producer.offer(record[0], record[1], force)  # type: ignore[arg-type]

    def dropped(self, n: int) -> None:
        self.counters.dropped += n


async def serve(
    snmp: SnmpConfig,
    credentials: dict[str, SnmpCredential],
    kafka: KafkaAccess,
    partitions: int,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    *,
    counters: TrapCounters | None = None,
    drain_seconds: float = DRAIN_SECONDS,
    log_seconds: float = LOG_SECONDS,
    spool_dir: Path | None = None,
) -> None:
    """Receive SNMP traps and informs on snmp.trap_port (0 is off) and produce them to the trap topic until stop.

    Kafka is connected first (retried until stop), then the socket listens and ready is set. v1/v2c
    communities: snmp.trap_communities (never the credentials' ones); v3 users: the v3 credentials. On
    stop, the socket closes, pending traps are sent, waiting at most drain_seconds; what Kafka did not
    acknowledge by then is spooled (with spool_dir and snmp.trap_spool_max_bytes) or counted as dropped. Pass
    counters to read them afterwards.
    """
    if not snmp.trap_port:
        log.info("snmp trap receiver off (trap_port 0)")
        return
    counters = counters if counters is not None else TrapCounters()
    queue_traps = max(MIN_QUEUE_TRAPS, 20 * snmp.trap_batch)
    spool = open_spool(spool_dir, snmp.trap_spool_max_bytes, counters.spool)
    producer = BoundedProducer(
        kafka,
        SNMP_TRAPS,
        counters,  # type: ignore[arg-type]
        max_bytes=QUEUE_BYTES,
        spool=spool,
        spill=frozenset({_TrapRecord.transport}),
    )
    count = await producer.start(partitions, stop)
    if count is None:
        if spool is not None:
            spool.close()
        return
    communities = communities_of(snmp)
    receiver: TrapReceiver | None = None
    tasks: list[asyncio.Task[None]] = []
    handler: _Handler | None = None
    sock: socket.socket | None = None
    try:
        sock = open_trap_socket(snmp.trap_bind, snmp.trap_port)
        send = functools.partial(send_reply, sock)
        usm = UsmReceiver((c for c in credentials.values() if c.is_v3), send)
        batcher = _Batcher(count, snmp.trap_batch, snmp.trap_batch_ms)
        handler = _Handler(communities, usm, send, batcher, producer, counters)
        receiver = TrapReceiver(sock, asyncio.get_running_loop(), handler.deliver, handler.dropped, queue_traps)
        receiver.start()
        counters.refreshers.append(functools.partial(_refresh_kernel_drops, counters, receiver))
        log.info(
            "snmp traps listening on %s:%d: %d v1/v2c communities, %d v3 users, engine id %s",
            *receiver.address,
            len(communities),
            usm.users,
            usm.engine_id,
        )
        tasks.append(asyncio.create_task(_cut_expired(handler, snmp.trap_batch_ms)))
        tasks.append(asyncio.create_task(_tick(usm)))
        tasks.append(asyncio.create_task(_log_periodically(counters, receiver, log_seconds)))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        deadline = time.monotonic() + drain_seconds
        if receiver is not None:
            await receiver.stop(timeout=min(2.0, drain_seconds / 4))
            receiver.close()
            counters.kernel_dropped = receiver.kernel_dropped()
        elif sock is not None:
            sock.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if handler is not None:
            for record in handler.batcher.drain():
                handler.offer(record, force=True)
        await producer.close(max(0.5, deadline - time.monotonic()))
        log.info("snmp trap ingest stopped: %s", dataclasses.asdict(counters))


def _refresh_kernel_drops(counters: TrapCounters, receiver: TrapReceiver) -> None:
    counters.kernel_dropped = receiver.kernel_dropped()


async def _cut_expired(handler: _Handler, batch_ms: int) -> None:
    """Send batches that have waited batch_ms, checking a few times per batch_ms."""
    while True:
        await asyncio.sleep(max(batch_ms / 4, 5) / 1000)
        for record in handler.batcher.expired(time.monotonic()):
            handler.offer(record)


async def _tick(usm: UsmReceiver) -> None:
    """The USM engine's clock: it expires engine time lines and pending states."""
    while True:
        await asyncio.sleep(1.0)
        usm.tick()


def rate_line(now: dict[str, int], before: dict[str, int], seconds: float) -> str:
    """One log line: totals plus the receive rate over the interval."""
    per_s = (now["received"] - before["received"]) / seconds
    return (
        f"snmp traps: {now['received']} datagrams ({per_s:,.0f}/s), accepted {now['accepted']}, "
        f"published {now['delivered']} in {now['batches']} records, informs acked {now['informs_acked']}, "
        f"rejected community {now['rejected_community']} auth {now['rejected_auth']}, "
        f"malformed {now['malformed']}, unsupported {now['unsupported']}, discovery {now['discovery']}, "
        f"dropped {now['dropped']} (+{now['dropped_spool_full']} spool full, {now['dropped_spool_error']} spool "
        f"errors), spooled {now['spooled']}, kernel dropped {now['kernel_dropped']}"
    )


async def _log_periodically(counters: TrapCounters, receiver: TrapReceiver, seconds: float) -> None:
    """Log the counters every `seconds` (INFO) while they change, until cancelled."""
    before = dataclasses.asdict(counters)
    started = time.monotonic()
    while True:
        await asyncio.sleep(seconds)
        counters.kernel_dropped = receiver.kernel_dropped()
        now = dataclasses.asdict(counters)
        if now != before:
            log.info(rate_line(now, before, time.monotonic() - started))
        before, started = now, time.monotonic()
