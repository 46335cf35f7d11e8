"""The Kafka edge of ingest: a bounded queue of RawBatch records in front of an aiokafka producer.

Receivers must never wait for Kafka: offer() either queues a record or drops it and counts the loss,
as a UDP network would. A record's encoded bytes count against the bound until Kafka acknowledges it, so a
slow or absent broker fills the queue, not memory: a bound in bytes holds whatever the lines' length (a
bound in lines let a queue of 64 KiB lines weigh 500 times one of 120-byte lines). shed() makes the queue
take nothing more for a while (the node's memory watch asks it to when the process nears its ceiling).
With a spool (ingest.spool.disk), the records of the transports that cannot be paused (UDP syslog, traps) go
to disk instead of being dropped once the queue is full (or shedding) or the broker has not acknowledged
anything for STALL_SECONDS, and come back, in order, when it does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator

from aiokafka import AIOKafkaProducer
from aiokafka.codec import has_lz4, has_zstd
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from common import kafka_client
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from ingest.counters import Counters
from ingest.spool.disk import FULL, Ref, Spool
from schemas.raw_syslog import RawBatch, encode

log = logging.getLogger("netobs.ingest")

Settled = Callable[[BaseException | None], None]
"""Told once whether the broker acknowledged a record (None) or why not: how RELP answers its sender."""

MAX_BATCH_BYTES = 1024 * 1024
"""aiokafka's per-partition batch: room for one full RawBatch record (ingest.syslog.batcher.BATCH_BYTES)."""
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
TOPIC_SECONDS = 5.0
"""How long one attempt to create the topic retries before start() logs and tries again."""
WARN_EVERY_SECONDS = 10.0
STALL_SECONDS = 5.0
"""Lines waiting this long with no acknowledgement at all: the broker is away, and a spill transport's new
records go to the spool (where a crash of the receiver does not lose them) rather than to memory."""


@dataclasses.dataclass(eq=False, slots=True)
class _Entry:
    """A record on its way to the broker, encoded; ref says where it is in the spool if it came from there."""

    partition: int
    payload: bytes
    transport: str
    lines: int
    settled: Settled | None
    ref: Ref | None = None


def pick_compression(requested: str) -> str | None:
    """With auto, zstd (else lz4) when aiokafka can compress it (cramjam installed; consumers need it too), else
    none. On syslog records zstd at the broker's default level packs 4.2x in 0.55 µs a line; aiokafka's lz4 is
    LZ4 HC at level 9: 3.2x in 1.34 µs, the largest part of a receiver's own CPU after the socket."""
    if requested != "auto":
        return None if requested == "none" else requested
    if has_zstd():
        return "zstd"
    return "lz4" if has_lz4() else None


class BoundedProducer:
    """Queues records for Kafka, sends each to its partition, and accounts for every line."""

    def __init__(
        self,
        kafka: KafkaAccess,
        topic: str,
        counters: Counters,
        max_bytes: int,
        compression: str = "auto",
        linger_ms: int = 5,
        request_timeout_ms: int = 40_000,
        spool: Spool | None = None,
        spill: frozenset[str] = frozenset(),
    ) -> None:
        self.kafka = kafka
        self.request_timeout_ms = request_timeout_ms
        """How long the broker may take to answer before a send counts as failed (and is retried)."""
        self.topic = topic
        self.counters = counters
        self.max_bytes = max_bytes
        """Encoded record bytes queued or in flight past which offers are refused (TCP waits, UDP spools)."""
        self.compression = pick_compression(compression)
        self.linger_ms = linger_ms
        self.idempotent = False
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self.spool = spool
        self.spill = spill
        """Transports whose records go to the spool rather than being dropped (those that cannot be paused)."""
        self._queue: collections.deque[_Entry] = collections.deque()
        self._open: set[_Entry] = set()
        """Records queued or in flight: what close() has to account for."""
        self._lines = 0
        """Lines queued or in flight."""
        self._bytes = 0
        """Encoded bytes of the records queued or in flight."""
        self._shedding = False
        self._progress = time.monotonic()
        """When the broker last acknowledged a record, or the queue last became non-empty."""
        self._refill_task: asyncio.Task[None] | None = None
        self._refill_wake = asyncio.Event()
        self._closing = False
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._settled = asyncio.Event()
        self._settled.set()
        self._abandoned = False
        self._last_warning: dict[str, float] = {}
        self._retry_at = 0.0
        """The sender waits until then after a retriable failure."""

    @property
    def queued_lines(self) -> int:
        return self._lines

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def shedding(self) -> bool:
        return self._shedding

    def shed(self, on: bool) -> None:
        """While on, the queue counts as full: nothing more is taken into memory (TCP readers wait, spill
        transports go to the spool), and what is queued still goes to the broker."""
        self._shedding = on
        self._hold(0)

    def _full(self, more: int) -> bool:
        return self._shedding or self._bytes + more > self.max_bytes

    async def start(self, partitions: int, stop: asyncio.Event) -> int | None:
        """Create the topic, connect and start sending, retrying until stop; return the partition count.

        None means stop was set first. A broker without idempotent producers (Tansu) gets a plain
        acks=all producer: at-least-once, and the processors' insert tokens remove duplicates.
        """
        for attempt in itertools.count():
            if stop.is_set():
                return None
            try:
                await self._ensure_topic(partitions)
                self._producer = await self._connect()
                count = len(await self._producer.partitions_for(self.topic))
            except KafkaConnectionError as exc:
                if self._producer is not None:
                    await self._producer.stop()
                    self._producer = None
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.warning("kafka %s not reachable (%s); retrying in %.1fs", self.kafka.bootstrap, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            self._task = asyncio.create_task(self._send(self._producer), name="syslog-kafka-sender")
            self._task.add_done_callback(_log_failure)
            if self.spool is not None:
                self._refill_task = asyncio.create_task(self._refill(self.spool), name="kafka-spool-refill")
                self._refill_task.add_done_callback(_log_failure)
                self._refill_wake.set()
            if count != partitions:
                log.warning("topic %s has %d partitions, configured %d: using %d", self.topic, count, partitions, count)
            log.info(
                "kafka producer to %s topic %s: %d partitions, compression %s, idempotent %s",
                self.kafka.bootstrap,
                self.topic,
                count,
                self.compression or "none",
                self.idempotent,
            )
            return count
        return None

    async def _ensure_topic(self, partitions: int) -> None:
        """Create the topic (replication 1) if missing; a broker that does not answer is unreachable."""
        try:
            await ensure_topics(self.kafka, partitions, replication_factor=1, timeout=TOPIC_SECONDS)
        except RuntimeError as exc:
            raise KafkaConnectionError(str(exc)) from exc

    async def _connect(self) -> AIOKafkaProducer:
        """An idempotent producer if the broker grants one, else a plain one."""
        try:
            with _quiet(logging.getLogger("aiokafka.producer.sender")):
                producer = await self._started(idempotent=True)
        except KafkaConnectionError:
            raise
        except KafkaError as exc:
            bootstrap = self.kafka.bootstrap
            log.info("kafka %s refused an idempotent producer (%r): using acks=all without it", bootstrap, exc)
            return await self._started(idempotent=False)
        self.idempotent = True
        return producer

    async def _started(self, idempotent: bool) -> AIOKafkaProducer:
        producer = kafka_client.producer(
            self.kafka,
            acks="all",
            enable_idempotence=idempotent,
            compression_type=self.compression,
            linger_ms=self.linger_ms,
            max_batch_size=MAX_BATCH_BYTES,
            request_timeout_ms=self.request_timeout_ms,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    def offer(self, partition: int, batch: RawBatch, force: bool = False, settled: Settled | None = None) -> bool:
        """Queue a record unless the queue is full (then spool it, or count its lines as dropped); never waits.

        force queues regardless: for TCP, whose readers already waited for room() before reading.
        settled, if given, is called once with the outcome: None when the broker acknowledged the record.
        A spill transport's record goes to the spool when the queue is full, when the broker has stalled, or
        when older records still wait there (order is kept).
        """
        n = len(batch)
        if not self._abandoned:
            entry = _Entry(partition, encode(batch), batch.transport, n, settled)
            size = len(entry.payload)
            if self._spills(entry) and (self.spool.unread or self._full(size) or self._stalled()):  # type: ignore[union-attr]
                return self._to_spool(entry)
            if force or not self._full(size):
                self._enqueue(entry)
                return True
        self.counters[batch.transport].dropped += n
        self._warn(
            "queue",
            f"kafka queue full ({self._lines} lines, {self._bytes} bytes{', shedding' if self._shedding else ''}): "
            f"dropping {n} {batch.transport} lines",
        )
        if settled is not None:
            settled(KafkaError("not queued: the producer is full or closing"))
        return False

    def _spills(self, entry: _Entry) -> bool:
        return self.spool is not None and entry.transport in self.spill and entry.settled is None

    def _stalled(self) -> bool:
        return self._lines > 0 and time.monotonic() - self._progress > STALL_SECONDS

    def _enqueue(self, entry: _Entry) -> None:
        self._queue.append(entry)
        self._open.add(entry)
        self._hold(entry.lines, len(entry.payload))
        self._wake.set()

    def _to_spool(self, entry: _Entry) -> bool:
        """Write a record to the spool; past its bound (or on a write error) its lines are dropped, counted."""
        assert self.spool is not None
        why = self.spool.append(entry.partition, entry.transport, entry.lines, entry.payload)
        counters = self.counters[entry.transport]
        if why is None:
            counters.spooled += entry.lines
            self._refill_wake.set()
            return True
        if why == FULL:
            counters.dropped_spool_full += entry.lines
            self._warn(
                "spool",
                f"spool full ({self.spool.stats.bytes} bytes of {self.spool.max_bytes}): dropping the newest "
                f"{entry.lines} {entry.transport} lines",
            )
        else:
            counters.dropped_spool_error += entry.lines
        return False

    async def _refill(self, spool: Spool) -> None:
        """Move spooled records, oldest first, into the queue while it is under half full and the broker answers."""
        while True:
            await self._refill_wake.wait()
            self._refill_wake.clear()
            while self._bytes < self.max_bytes // 2 and not self._shedding and not self._stalled():
                found = spool.next()
                if found is None:
                    break
                ref, frame = found
                self._enqueue(_Entry(frame.partition, frame.payload, frame.transport, frame.lines, None, ref))
                await asyncio.sleep(0)  # one record at a time: the receivers run in between

    async def room(self) -> None:
        """Wait until the queue is below its bound and not shedding (TCP pauses reading instead of dropping)."""
        await self._room.wait()

    async def _send(self, producer: AIOKafkaProducer) -> None:
        """Send queued records until cancelled; the delivery callbacks settle the accounts."""
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._retry_at - time.monotonic()
            if wait > 0:  # the broker failed a send: give it a moment rather than spin on it
                await asyncio.sleep(wait)
            entry = self._queue.popleft()
            try:
                delivery = await producer.send(self.topic, entry.payload, partition=entry.partition)
            except KafkaError as exc:
                self._settle(entry, exc)
                continue
            delivery.add_done_callback(functools.partial(self._delivered, entry))

    async def close(self, timeout: float) -> None:
        """Wait up to timeout for everything queued to be acknowledged, then disconnect.

        What the spool holds stays there for the next start. Records still unacknowledged after that go to the
        spool if their transport spills (a record the broker took just before may then be sent twice), else
        their lines are counted as dropped.
        """
        deadline = time.monotonic() + timeout
        if self._refill_task is not None:
            self._refill_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refill_task
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except TimeoutError:
            log.warning("kafka drain timed out with %d lines unacknowledged", self._lines)
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            try:  # records in flight settle meanwhile
                await asyncio.wait_for(self._producer.stop(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("kafka producer did not stop in time")
            self._producer = None
        self._abandoned = True
        left, self._open = self._open, set()
        self._queue.clear()
        for entry in left:
            if entry.ref is not None:  # still in the spool
                continue
            if self._spills(entry) and self._to_spool(entry):
                continue
            self.counters[entry.transport].dropped += entry.lines
            if entry.settled is not None:
                entry.settled(KafkaError("not sent before the producer closed"))
        if self.spool is not None:
            self.spool.close()

    def _delivered(self, entry: _Entry, future: asyncio.Future[object]) -> None:
        if future.cancelled():
            self._settle(entry, KafkaError("delivery cancelled"))
        else:
            self._settle(entry, future.exception())

    def _settle(self, entry: _Entry, error: BaseException | None) -> None:
        """Book a record's outcome. A broker that is away (a retriable error) gets the record again, first in
        line: its lines stay counted against the bound, so TCP readers stay paused (the senders are slowed, not
        dropped) and UDP finds the queue full (spooled, or dropped and counted) until the broker is back. While
        closing, such a record is left to close()."""
        if entry not in self._open:
            return
        if error is not None and retriable(error):
            if not self._closing:
                self.counters[entry.transport].retried += entry.lines
                self._queue.appendleft(entry)
                self._retry_at = time.monotonic() + RETRY_SECONDS[0]
                self._wake.set()
                self._warn(
                    "retry",
                    f"kafka send failed, keeping {entry.lines} {entry.transport} lines queued to retry: {error!r}",
                )
            return
        self._open.discard(entry)
        if entry.settled is not None:
            entry.settled(error)
        counters = self.counters[entry.transport]
        if error is None:
            counters.delivered += entry.lines
            counters.batches += 1
            self._progress = time.monotonic()
        else:
            counters.dropped += entry.lines
            log.error("kafka refused a record, dropping %d %s lines: %r", entry.lines, entry.transport, error)
        if entry.ref is not None and self.spool is not None:
            self.spool.acked(entry.ref)
        self._hold(-entry.lines, -len(entry.payload))

    def _hold(self, lines: int, size: int = 0) -> None:
        if not self._lines and lines > 0:
            self._progress = time.monotonic()
        self._lines += lines
        self._bytes += size
        if self._shedding or self._bytes >= self.max_bytes:
            self._room.clear()
        else:
            self._room.set()
        if self._bytes < self.max_bytes // 2 and not self._shedding:
            self._refill_wake.set()
        if self._lines:
            self._settled.clear()
        else:
            self._settled.set()

    def _warn(self, kind: str, message: str) -> None:
        """At most one warning of a kind per WARN_EVERY_SECONDS: an outage must not flood the log."""
        now = time.monotonic()
        if now - self._last_warning.get(kind, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
            self._last_warning[kind] = now
            log.warning("%s (further warnings suppressed for %.0fs)", message, WARN_EVERY_SECONDS)


def retriable(error: BaseException) -> bool:
    """A failure that says the broker is away or busy, not that it refused the record: send it again.

    aiokafka marks most such errors retriable; its delivery timeout (KafkaTimeoutError) is not marked, yet it is
    exactly what a broker outage of more than request_timeout_ms looks like.
    """
    return isinstance(error, KafkaTimeoutError) or bool(getattr(error, "retriable", False))


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed: nothing more reaches Kafka", task.get_name(), exc_info=task.exception())


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence aiokafka's ERROR about a refused InitProducerId: the fallback below says it plainly."""
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
