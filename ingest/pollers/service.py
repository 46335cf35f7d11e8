"""The poller stage: follows the inventory topic, runs pollings when due, publishes their results in batches.

The inventory topic is read from its beginning by every poller (one compacted partition, no consumer
group) and kept as a schedule; scheduling starts once the poller has caught up with it, so a replay never
runs an outdated definition. Due runs queue for up to `concurrency` workers; each run ends within its
polling's timeout, so a slow or dead target holds one worker, never the schedule. Results are cut into
one PollBatch per partition (by node id) every batch_ms and handed to the same bounded Kafka producer as
syslog ingest uses.

Only inventory events signed with the inventory key (common.signing) reach the schedule: one that is
unsigned or altered is counted as an inventory error and logged, so nobody who can merely write the topic
can make the poller send a stored credential to an address of their choosing. A Kafka tombstone cannot be
signed, so it deletes nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from common import kafka_client, signing
from common.config import PollerConfig
from common.kafka_client import KafkaAccess
from common.snmp.credentials import SnmpCredential
from ingest.counters import Counters, TransportCounters
from ingest.kafka_producer import BoundedProducer
from ingest.pollers.counters import PollerCounters, rate_line
from ingest.pollers.runner import Probes, result
from ingest.pollers.schedule import Run, Schedule, interval_of
from schemas import inventory
from schemas.polls import WIRE_VERSION, PollBatch, PollResult, Removal
from schemas.topics import INVENTORY, POLL_RESULTS, partition_for

log = logging.getLogger("netobs.poller")

STREAM = "poll"
"""The name results are counted under in the producer's counters."""
DRAIN_SECONDS = 10.0
LOG_SECONDS = 30.0
MAX_SLEEP_S = 1.0
"""The scheduler looks at the clock at least this often (a wall-clock step is noticed within it)."""
MAX_RESULTS_PER_RECORD = 500
QUEUE_BYTES = 64 * 1024 * 1024
"""Encoded result records waiting for Kafka before new ones are dropped (and counted)."""
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
WARN_EVERY_SECONDS = 60.0


class _Record(PollBatch, frozen=True):
    """A PollBatch as BoundedProducer takes a record: it counts by `transport` and encodes the struct as msgpack,
    which gives exactly the bytes of schemas.polls.encode."""

    transport: ClassVar[str] = STREAM


async def serve(
    poller: PollerConfig,
    credentials: Mapping[str, SnmpCredential],
    kafka: KafkaAccess,
    partitions: int,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    *,
    counters: PollerCounters | None = None,
    drain_seconds: float = DRAIN_SECONDS,
    log_seconds: float = LOG_SECONDS,
    inventory_topic: str = INVENTORY,
    inventory_key: bytes,
) -> None:
    """Poll the inventory's pollings on their schedules until stop is set; inventory_key checks the events.

    Kafka is connected first (retried until stop), then the inventory is read to its end, then ready is
    set and polling starts. On stop, runs in progress are abandoned, pending results are sent, waiting at
    most drain_seconds; what Kafka did not acknowledge by then is counted as dropped. Pass counters to
    read them afterwards. inventory_topic (one partition) lets a test give the poller an inventory of its
    own on a broker that other tests share, so it never polls their (possibly non-local) nodes.
    """
    counters = counters if counters is not None else PollerCounters()
    producer_counters = Counters()
    producer_counters.by_transport[STREAM] = TransportCounters()
    producer = BoundedProducer(kafka, POLL_RESULTS, producer_counters, max_bytes=QUEUE_BYTES)
    count = await producer.start(partitions, stop)
    if count is None:
        return

    def refresh() -> None:
        counters.published = producer_counters[STREAM].delivered
        counters.dropped = producer_counters[STREAM].dropped

    counters.refreshers.append(refresh)
    schedule = Schedule(poller.jitter)
    outbox = _Outbox(producer, count)
    probes = Probes(credentials)
    wake = asyncio.Event()
    caught_up = asyncio.Event()
    workers = _Workers(poller.concurrency, probes, counters, outbox)
    follower = asyncio.create_task(
        _follow_inventory(
            kafka, inventory_topic, inventory_key, schedule, counters, wake, caught_up, stop, outbox.remove
        )
    )
    follower.add_done_callback(_log_failure)
    helpers = [
        follower,
        asyncio.create_task(_flush_periodically(outbox, poller.batch_ms)),
        asyncio.create_task(_log_periodically(counters, refresh, log_seconds)),
        asyncio.create_task(_wake_on(stop, wake)),
    ]
    try:
        await _first(caught_up, stop, follower)
        if stop.is_set() or not caught_up.is_set():
            return
        log.info(
            "poller: %d pollings of %d nodes; concurrency %d, jitter %.2f of each interval, batches every %d ms",
            len(schedule),
            len(schedule.nodes),
            poller.concurrency,
            poller.jitter,
            poller.batch_ms,
        )
        if ready is not None:
            ready.set()
        while not stop.is_set():
            runs, orphans = schedule.take_due(time.time())
            counters.due += len(runs) + len(orphans)
            counters.orphaned += len(orphans)
            for run in runs:
                if not workers.submit(run):
                    counters.skipped += 1
            next_due = schedule.next_due()
            delay = MAX_SLEEP_S if next_due is None else min(MAX_SLEEP_S, max(0.0, next_due - time.time()))
            wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
    finally:
        await _cancel([*helpers, *workers.tasks])
        outbox.flush()
        await producer.close(drain_seconds)
        await probes.close()
        refresh()
        log.info("poller stopped: %s", counters.totals())


class _Workers:
    """Up to `concurrency` tasks running queued runs; a polling is queued or running at most once.

    Long-lived workers rather than a task per run: at thousands of runs a second, creating tasks and
    waking semaphore waiters was most of the poller's CPU.
    """

    def __init__(self, concurrency: int, probes: Probes, counters: PollerCounters, outbox: _Outbox) -> None:
        self.concurrency = concurrency
        self.probes = probes
        self.counters = counters
        self.outbox = outbox
        self.queue: asyncio.Queue[Run] = asyncio.Queue()
        self.busy: set[str] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.idle = 0

    def submit(self, run: Run) -> bool:
        """Queue a run; False (not queued) while the polling's previous run is queued or running."""
        if run.polling.id in self.busy:
            return False
        self.busy.add(run.polling.id)
        self.queue.put_nowait(run)
        if self.queue.qsize() > self.idle and len(self.tasks) < self.concurrency:
            self.tasks.append(asyncio.create_task(self._work()))
        return True

    async def _work(self) -> None:
        while True:
            self.idle += 1
            try:
                run = await self.queue.get()
            finally:
                self.idle -= 1
            try:
                await self._run(run)
            except Exception:
                log.exception("poller: run of %s failed", run.polling.id)
            finally:
                self.busy.discard(run.polling.id)

    async def _run(self, run: Run) -> None:
        """Measure, count, queue the result."""
        started_ns = time.time_ns()
        self.counters.started(started_ns / 1e9 - run.due, interval_of(run.polling))
        began = time.perf_counter_ns()
        measurement = await self.probes.measure(run.polling, run.node)
        duration_ns = time.perf_counter_ns() - began
        self.counters.outcome(measurement.outcome)
        self.outbox.add(result(run.polling, run.node, started_ns, duration_ns, measurement))


class _Outbox:
    """Results and removals waiting to be cut into one record per partition."""

    def __init__(self, producer: BoundedProducer, partitions: int) -> None:
        self.producer = producer
        self.partitions = partitions
        self.pending: dict[int, list[PollResult]] = collections.defaultdict(list)
        self.removals: dict[int, list[Removal]] = collections.defaultdict(list)

    def add(self, poll: PollResult) -> None:
        partition = partition_for(poll.node_id, self.partitions)
        waiting = self.pending[partition]
        waiting.append(poll)
        if len(waiting) >= MAX_RESULTS_PER_RECORD:
            self._send(partition)

    def remove(self, removal: Removal) -> None:
        """A deleted polling or node, sent after the results already waiting on its node's partition."""
        self.removals[partition_for(removal.node_id, self.partitions)].append(removal)

    def flush(self) -> None:
        for partition in set(self.pending) | set(self.removals):
            self._send(partition)

    def _send(self, partition: int) -> None:
        results = self.pending.pop(partition, [])
        removals = self.removals.pop(partition, [])
        self.producer.offer(partition, _Record(WIRE_VERSION, results, removals))  # type: ignore[arg-type]


async def _flush_periodically(outbox: _Outbox, batch_ms: int) -> None:
    while True:
        await asyncio.sleep(batch_ms / 1000)
        outbox.flush()


async def _follow_inventory(
    kafka: KafkaAccess,
    topic: str,
    key: bytes,
    schedule: Schedule,
    counters: PollerCounters,
    wake: asyncio.Event,
    caught_up: asyncio.Event,
    stop: asyncio.Event,
    remove: Callable[[Removal], None],
) -> None:
    """Apply the inventory topic to the schedule from its first record on, for as long as the poller runs.

    caught_up is set once the records that existed at the start are applied. Deletes become removals in
    the poll topic, so the state machine forgets a polling or node in stream order; a delete met while
    catching up is sent only if the entity is still gone at the end (a later re-add wins). Removing what
    is already gone changes nothing, so a removal sent again by a restarted poller is harmless.
    """
    partition = TopicPartition(topic, 0)
    consumer = await _consumer(kafka, partition, stop)
    if consumer is None:
        return
    last_warning = 0.0
    try:
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        held: dict[str, Removal] = {}
        while True:
            if not caught_up.is_set() and await consumer.position(partition) >= end:
                for pending in held.values():
                    if pending.id not in (schedule.nodes if pending.kind == "node" else schedule.pollings):
                        remove(pending)
                caught_up.set()
            batches = await consumer.getmany(partition, timeout_ms=500)
            for record in batches.get(partition, []):
                try:
                    event = _event(record, key)
                    removal = _removal(event, schedule)
                    schedule.apply(event, time.time())
                    counters.inventory_events += 1
                    if removal is not None:
                        if caught_up.is_set():
                            remove(removal)
                        else:
                            held[f"{removal.kind}:{removal.id}"] = removal
                except ValueError as exc:
                    counters.inventory_errors += 1
                    if time.monotonic() - last_warning >= WARN_EVERY_SECONDS:
                        last_warning = time.monotonic()
                        log.warning("poller: skipping inventory record at offset %d: %s", record.offset, exc)
            if batches:
                wake.set()
    finally:
        await consumer.stop()


def _removal(event: inventory.InventoryEvent, schedule: Schedule) -> Removal | None:
    """The removal a delete event means for the state machine; None for anything else."""
    if event.op != "delete" or event.kind not in ("node", "polling"):
        return None
    if event.kind == "node":
        return Removal(kind="node", id=event.id, node_id=event.id, time_ns=event.time_ns)
    polling = schedule.pollings.get(event.id)
    if polling is None:
        return None
    return Removal(kind="polling", id=event.id, node_id=polling.node_id, time_ns=event.time_ns)


def _event(record: ConsumerRecord[bytes, bytes], key: bytes) -> inventory.InventoryEvent:
    """The event of a record; ValueError for a tombstone, an undecodable record, or an event not signed under key."""
    if record.value is None:
        raise ValueError(f"a tombstone (key {record.key!r}) carries no signature: ignored")
    event = inventory.decode(record.value)
    why = signing.refusal(key, event)
    if why is not None:
        raise ValueError(f"inventory event {event.kind}:{event.id} refused: {why}")
    return event


async def _consumer(kafka: KafkaAccess, partition: TopicPartition, stop: asyncio.Event) -> AIOKafkaConsumer | None:
    """A started consumer assigned the inventory partition, retried until it starts or stop is set."""
    attempt = 0
    while not stop.is_set():
        consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
        try:
            await consumer.start()
            consumer.assign([partition])
            return consumer
        except KafkaError as exc:
            await consumer.stop()
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            attempt += 1
            log.warning(
                "poller: cannot read %s from %s (%s); retrying in %.1fs", partition.topic, kafka.bootstrap, exc, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return None


async def _log_periodically(counters: PollerCounters, refresh: Callable[[], None], seconds: float) -> None:
    before = counters.totals()
    started = time.monotonic()
    while True:
        await asyncio.sleep(seconds)
        refresh()
        now = counters.totals()
        if now != before:
            log.info(rate_line(now, before, time.monotonic() - started, counters.take_lateness()))
        before, started = now, time.monotonic()


async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()


async def _first(event: asyncio.Event, stop: asyncio.Event, follower: asyncio.Task[None]) -> None:
    """Wait until event or stop is set, or the follower ends (it failed: logged by _log_failure)."""
    waiters = [asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait([*waiters, follower], return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(waiters)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("poller: inventory reader failed: the schedule stops following it", exc_info=task.exception())


async def _cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
