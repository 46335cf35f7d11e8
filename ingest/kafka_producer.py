"""The Kafka edge of ingest: a bounded queue of RawBatch records in front of an aiokafka producer.

Receivers must never wait for Kafka: offer() either queues a record or drops it and counts the loss,
as a UDP network would. Lines count against the bound until Kafka acknowledges them, so a slow or
absent broker fills the queue instead of memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator

from aiokafka import AIOKafkaProducer
from aiokafka.codec import has_lz4
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from common import kafka_client
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from ingest.counters import Counters
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


def pick_compression(requested: str) -> str | None:
    """With auto, lz4 when aiokafka can compress it (cramjam installed; consumers need it too), else none."""
    if requested != "auto":
        return None if requested == "none" else requested
    return "lz4" if has_lz4() else None


class BoundedProducer:
    """Queues records for Kafka, sends each to its partition, and accounts for every line."""

    def __init__(
        self,
        kafka: KafkaAccess,
        topic: str,
        counters: Counters,
        max_lines: int,
        compression: str = "auto",
        linger_ms: int = 5,
        request_timeout_ms: int = 40_000,
    ) -> None:
        self.kafka = kafka
        self.request_timeout_ms = request_timeout_ms
        """How long the broker may take to answer before a send counts as failed (and is retried)."""
        self.topic = topic
        self.counters = counters
        self.max_lines = max_lines
        self.compression = pick_compression(compression)
        self.linger_ms = linger_ms
        self.idempotent = False
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: collections.deque[tuple[int, RawBatch, Settled | None]] = collections.deque()
        self._lines = 0
        """Lines queued or in flight."""
        self._unsettled: collections.Counter[str] = collections.Counter()
        """The same lines by transport, to count them as dropped if the drain runs out of time."""
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._settled = asyncio.Event()
        self._settled.set()
        self._abandoned = False
        self._last_warning = 0.0
        self._retry_at = 0.0
        """The sender waits until then after a retriable failure."""

    @property
    def queued_lines(self) -> int:
        return self._lines

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
        """Queue a record unless the queue is full (then count its lines as dropped); never waits.

        force queues regardless: for TCP, whose readers already waited for room() before reading.
        settled, if given, is called once with the outcome: None when the broker acknowledged the record.
        """
        n = len(batch)
        if self._abandoned or (not force and self._lines + n > self.max_lines):
            self.counters[batch.transport].dropped += n
            self._warn(f"kafka queue full ({self._lines} lines): dropping {n} {batch.transport} lines")
            if settled is not None:
                settled(KafkaError("not queued: the producer is full or closing"))
            return False
        self._queue.append((partition, batch, settled))
        self._hold(batch.transport, n)
        self._wake.set()
        return True

    async def room(self) -> None:
        """Wait until the queue is below its bound (TCP pauses reading instead of dropping)."""
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
            partition, batch, settled = self._queue.popleft()
            try:
                delivery = await producer.send(self.topic, encode(batch), partition=partition)
            except KafkaError as exc:
                self._settle(partition, batch, settled, exc)
                continue
            delivery.add_done_callback(
                lambda future, partition=partition, batch=batch, settled=settled: self._delivered(
                    partition, batch, settled, future
                )
            )

    async def close(self, timeout: float) -> None:
        """Wait up to timeout for everything queued to be acknowledged, then disconnect.

        Lines still unacknowledged after that are counted as dropped.
        """
        deadline = time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except TimeoutError:
            log.warning("kafka drain timed out with %d lines unacknowledged", self._lines)
        self._abandoned = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for transport, n in self._unsettled.items():
            self.counters[transport].dropped += n
        self._unsettled.clear()
        for _, _, settled in self._queue:
            if settled is not None:
                settled(KafkaError("not sent before the producer closed"))
        self._queue.clear()
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.stop(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("kafka producer did not stop in time")
            self._producer = None

    def _delivered(
        self, partition: int, batch: RawBatch, settled: Settled | None, future: asyncio.Future[object]
    ) -> None:
        if future.cancelled():
            self._settle(partition, batch, settled, KafkaError("delivery cancelled"))
        else:
            self._settle(partition, batch, settled, future.exception())

    def _settle(self, partition: int, batch: RawBatch, settled: Settled | None, error: BaseException | None) -> None:
        """Book a record's outcome. A broker that is away (a retriable error) gets the record again, first in
        line: its lines stay counted against the bound, so TCP readers stay paused (the senders are slowed, not
        dropped) and UDP finds the queue full (dropped and counted there) until the broker is back."""
        if error is not None and not self._abandoned and retriable(error):
            self.counters[batch.transport].retried += len(batch)
            self._queue.appendleft((partition, batch, settled))
            self._retry_at = time.monotonic() + RETRY_SECONDS[0]
            self._wake.set()
            self._warn(f"kafka send failed, keeping {len(batch)} {batch.transport} lines queued to retry: {error!r}")
            return
        if settled is not None:
            settled(error)
        if self._abandoned:
            return
        n = len(batch)
        counters = self.counters[batch.transport]
        if error is None:
            counters.delivered += n
            counters.batches += 1
        else:
            counters.dropped += n
            log.error("kafka refused a record, dropping %d %s lines: %r", n, batch.transport, error)
        self._hold(batch.transport, -n)

    def _hold(self, transport: str, n: int) -> None:
        self._lines += n
        self._unsettled[transport] += n
        if self._lines >= self.max_lines:
            self._room.clear()
        else:
            self._room.set()
        if self._lines:
            self._settled.clear()
        else:
            self._settled.set()

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("%s (further warnings suppressed for %.0fs)", message, WARN_EVERY_SECONDS)


def retriable(error: BaseException) -> bool:
    """A failure that says the broker is away or busy, not that it refused the record: send it again.

    aiokafka marks most such errors retriable; its delivery timeout (KafkaTimeoutError) is not marked, yet it is
    exactly what a broker outage of more than request_timeout_ms looks like.
    """
    return isinstance(error, KafkaTimeoutError) or bool(getattr(error, "retriable", False))


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("syslog kafka sender failed: nothing more reaches Kafka", exc_info=task.exception())


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence aiokafka's ERROR about a refused InitProducerId: the fallback below says it plainly."""
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
