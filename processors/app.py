"""The Faust app: one agent per topic, each projecting its topic into ClickHouse in batches.

Faust commits only acked offsets, and an event is acked only once its rows were inserted (and, for poll
results, after the events they caused were published): the syslog and table agents ack a batch's events
themselves once it is stored (store_while_gathering); the poll-results agent's `stream.take_events` acks
them when its loop body returns.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import tempfile
import time
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import faust

from common import clickhouse, kafka_client
from common.config import WorkerConfig
from common.kafka_client import KafkaAccess
from processors import clickhouse_writer, metrics
from processors.fair_batches import MIN_SHARE, FairBuffer, next_share
from processors.monitoring import resource_monitor
from processors.monitoring.projector import StateProjector
from processors.pauses import Pauses
from processors.projector import Projector, Record, cut_by_bytes
from processors.syslog.projector import SyslogProjector
from processors.tables.projector import Keys, TableProjector, projections
from schemas import events as events_wire
from schemas.events import Event
from schemas.tables import RESOURCE_MONITOR
from schemas.topics import EVENTS, POLL_RESULTS, SYSLOG_RAW, TOPICS, partition_for

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 1, 2, 5, 10)
FAIR = "fair"
"""The pause reason of a partition at its bound in an agent's FairBuffer."""
T = TypeVar("T")


@dataclass(frozen=True)
class Worker:
    """The Faust app and the projectors its agents feed, by topic: what runs it and watches it needs."""

    app: faust.App
    projectors: dict[str, Projector]
    pauses: Pauses
    """The partitions not fetched for now, and why (fairness, memory)."""
    held: dict[str, FairBuffer[Any]]
    """By topic, the records its agent has fetched and not yet taken into a batch."""

    def stored_offsets(self, topic: str) -> dict[int, int]:
        """Highest offset handled per partition of topic this worker holds, counted as the broker counts."""
        return self.projectors[topic].stored_offsets()

    def rows_stored(self, topic: str) -> int:
        """Rows the projector of topic inserted since start."""
        return self.projectors[topic].rows_stored

    def crash_reason(self) -> BaseException | None:
        """Why the app or its fetcher crashed, if one did. mode marks a crashed service and carries on, so a
        worker whose fetcher crashed would fetch nothing more and say nothing; whoever runs it stops it instead."""
        for service in (self.app, self.app._fetcher):
            if service.crashed:
                return service.crash_reason or RuntimeError(f"{service.label} crashed")
        return None

    def release(self) -> None:
        """Let go of every partition once the app has stopped: the syslog miners are saved."""
        for projector in self.projectors.values():
            projector.release_all()


def make_app(
    kafka: KafkaAccess,
    partitions: int,
    settings: WorkerConfig,
    dsn: str,
    database: str,
    *,
    keys: Keys,
    resource_seconds: float = 60.0,
    data_dir: str | None = None,
) -> Worker:
    """A Faust app wired to every topic and the ClickHouse writer; settings.group_id names its group; keys are
    the signing keys the signed topics' records are checked with.

    resource_seconds is how often the worker writes its resource_monitor row; data_dir is the directory
    whose disk use it reports (default: the embedded ClickHouse path, else the working directory) and that
    holds Faust's own directory (default: a fresh temporary one, never the working directory).
    """
    app = faust.App(
        settings.group_id,
        datadir=str(Path(data_dir) / "faust") if data_dir else tempfile.mkdtemp(prefix="netobs-faust-"),
        **kafka_client.faust_settings(kafka),
        store="memory://",
        web_enabled=False,
        topic_partitions=partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=settings.buffer_records,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # A dead worker's partitions move to the others within seconds, not Kafka's minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        broker_rebalance_timeout=20.0,
    )
    topics = {
        spec.name: app.topic(
            spec.name,
            value_type=bytes,
            value_serializer="raw",
            key_serializer="raw",
            partitions=spec.partitions or partitions,
        )
        for spec in TOPICS
    }
    projector = SyslogProjector(
        clickhouse.connect(dsn), database, SYSLOG_RAW, settings.snapshot_seconds, settings.parse_processes
    )
    tables = {p.topic: TableProjector(clickhouse.connect(dsn), database, p) for p in projections(keys)}
    states = StateProjector(clickhouse.connect(dsn), database)
    worker = Worker(
        app,
        {SYSLOG_RAW: projector, POLL_RESULTS: states, **tables},
        Pauses(app),
        {topic: FairBuffer(settings.buffer_records, settings.batch_bytes // 4) for topic in (SYSLOG_RAW, *tables)},
    )
    batches = functools.partial(record_batches, worker=settings)

    @app.agent(topics[SYSLOG_RAW], name="syslog-projector")
    async def project_syslog(stream: faust.StreamT) -> None:
        await store_while_gathering(
            stream, settings, SYSLOG_RAW, projector.process, worker.held[SYSLOG_RAW], worker.pauses
        )

    for topic, table_projector in tables.items():
        app.agent(topics[topic], name=f"{topic}-projector")(_table_agent(table_projector, settings, worker))

    @app.agent(topics[POLL_RESULTS], name="state-projector")
    async def project_states(stream: faust.StreamT) -> None:
        async for records in batches(stream):
            pending = await retry("poll state", states.prepare, records)
            # The events topic's own partition count, should it differ from the configured one.
            count = app.consumer.topic_partitions(EVENTS) or partitions
            await retry_async("event publish", publish_events, topics[EVENTS], pending.events, count)
            await retry("poll state insert", states.commit, pending)

    # mode types its handlers with mypy_extensions' VarArg/NamedArg, which mypy no longer matches.
    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(app: faust.App, revoked: set[Any], **_: Any) -> None:
        worker.pauses.forget(revoked)
        for topic, held in worker.held.items():
            held.drop({tp.partition for tp in revoked if tp.topic == topic})
        for topic, owner in worker.projectors.items():
            gone = [tp.partition for tp in revoked if tp.topic == topic]
            if gone:
                await asyncio.to_thread(owner.release, gone)

    @app.timer(10.0)
    async def report() -> None:
        log.info(
            "worker: %d syslog lines, %d trap/inventory/event rows, %d poll results (%d state rows) stored; "
            "%d undecodable records skipped, %d records refused for their signature, %d poll results rejected, "
            "%d redelivered records skipped",
            projector.rows_stored,
            sum(t.rows_stored for t in tables.values()),
            states.results_applied,
            states.rows_stored,
            sum(t.records_undecodable for t in tables.values()) + states.records_undecodable,
            sum(t.records_refused for t in tables.values()),
            states.results_rejected,
            projector.records_skipped + states.records_skipped + sum(t.records_skipped for t in tables.values()),
        )

    monitor = resource_monitor.Sampler(
        host=socket.gethostname(),
        process=f"worker-{os.getpid()}",
        data_dir=data_dir or (dsn.removeprefix("chdb://") if dsn.startswith("chdb://") else "."),
    )
    monitor_client = clickhouse.connect(dsn)

    @app.timer(resource_seconds)
    async def watch_resources() -> None:
        lag = consumer_lag(worker)
        stored = sum(p.rows_stored for p in worker.projectors.values())
        row = monitor.sample(stored, lag)
        try:
            await asyncio.to_thread(
                clickhouse_writer.insert_rows,
                monitor_client,
                database,
                RESOURCE_MONITOR,
                [row],
                f"resource:{monitor.host}:{monitor.process}:{time.time_ns()}",
            )
        except Exception:
            log.exception("resource_monitor row not stored")

    return worker


async def record_batches(stream: faust.StreamT, worker: WorkerConfig) -> AsyncIterator[list[Record]]:
    """The records of a stream in batches of at most worker.batch_records, gathered for batch_seconds at most,
    and cut at worker.batch_bytes of record values (a batch of big records would otherwise hold a million
    lines' rows at once). Faust acks the events it handed over only once every part of them was handled.
    Agents are handed a faust.Stream, whose take_events StreamT does not declare."""
    assert isinstance(stream, faust.Stream)
    async for events in stream.take_events(worker.batch_records, within=worker.batch_seconds):
        for part in cut_by_bytes(_records(events), worker.batch_bytes):
            yield part


async def store_while_gathering(
    stream: faust.StreamT,
    worker: WorkerConfig,
    topic: str,
    store: Callable[[list[Record]], Any],
    held: FairBuffer[Any],
    pauses: Pauses,
) -> None:
    """Store the records of topic's stream in fair batches (fair_batches), gathering the next batch while the
    previous one is stored. A batch is cut once the previous one is stored and either batch_seconds have passed
    since the last cut, or what is held reaches one share or batch_records; so under load a batch takes what
    arrived from every partition meanwhile, at most a share of each, not only the flood's. One batch is stored at
    a time, each part retried until it is stored, and a batch's events are acked only then (an event not acked is
    delivered again after a restart, and the projector skips what it already stored); a batch being stored when
    the agent stops is finished and acked first."""
    assert isinstance(stream, faust.Stream)
    arrived = asyncio.Event()
    feeding = asyncio.create_task(_hold_arrivals(stream, held, pauses, arrived))
    storing: asyncio.Task[tuple[int, float]] | None = None
    share, last_cut = MIN_SHARE, float("-inf")
    try:
        while await _gathered(held, arrived, feeding, worker, share, last_cut):
            if storing is not None:
                stored_bytes, seconds = await asyncio.shield(storing)
                storing = None
                share = next_share(stored_bytes, seconds, worker.batch_seconds, worker.batch_bytes)
            # Not kept in a local: the last batch of a burst would stay in memory until the next one.
            storing = asyncio.create_task(
                _store_and_ack(
                    stream,
                    topic,
                    store,
                    held.take(worker.batch_records, share, worker.batch_bytes),
                    worker.batch_bytes,
                )
            )
            pauses.release(FAIR, [tp for tp in pauses.held(FAIR, topic) if held.below_half(tp.partition)])
            last_cut = asyncio.get_running_loop().time()
    finally:
        feeding.cancel()
        if storing is not None:
            await storing


async def _hold_arrivals(stream: faust.Stream, held: FairBuffer[Any], pauses: Pauses, arrived: asyncio.Event) -> None:
    """Drain the stream's one queue into held, a queue per partition, pausing a partition at its bound."""
    async for event in stream.noack().events():
        message = event.message
        if held.put(message.partition, event, len(event.value)):
            pauses.hold(FAIR, [message.tp])
        arrived.set()


async def _gathered(
    held: FairBuffer[Any],
    arrived: asyncio.Event,
    feeding: asyncio.Task[None],
    worker: WorkerConfig,
    share: int,
    last_cut: float,
) -> bool:
    """Wait until a batch is to be cut (see store_while_gathering); False once the stream has ended."""
    loop = asyncio.get_running_loop()
    while not feeding.done():
        records = held.records
        wait = last_cut + worker.batch_seconds - loop.time()
        if records and (wait <= 0 or records >= worker.batch_records or held.size >= share):
            return True
        arrived.clear()
        arrival = asyncio.ensure_future(arrived.wait())
        await asyncio.wait({arrival, feeding}, timeout=wait if records else None, return_when=FIRST_COMPLETED)
        arrival.cancel()
    feeding.result()  # the feeder's error, if it failed
    return False


async def _store_and_ack(
    stream: faust.Stream, topic: str, store: Callable[[list[Record]], Any], events: list[Any], part_bytes: int
) -> tuple[int, float]:
    """Store events' records in parts of at most part_bytes, in order (each retried until it is stored), then ack
    the events, so that a batch is committed as soon as it is stored even when no batch follows it. Returns the
    bytes stored and the seconds it took."""
    started = time.monotonic()
    parts = cut_by_bytes(_records(events), part_bytes)
    for part in parts:
        await retry(f"{topic} insert", store, part)
    delay = metrics.STORE_DELAY_SECONDS.labels(topic).observe
    now_ns = time.time_ns()
    for part in parts:
        for record in part:
            delay(max(0.0, (now_ns - record[2]) / 1e9))  # clocks of another host may be ahead
    for event in events:
        await stream.ack(event)
    return sum(len(record[3]) for part in parts for record in part), time.monotonic() - started


def _records(events: Sequence[Any]) -> list[Record]:
    """(partition, offset, broker time in ns, value) of each Faust event."""
    return [(e.message.partition, e.message.offset, int(e.message.timestamp * 1e9), e.value) for e in events]


def _table_agent(
    projector: TableProjector, settings: WorkerConfig, worker: Worker
) -> Callable[[faust.StreamT], Awaitable[None]]:
    topic = projector.projection.topic

    async def project(stream: faust.StreamT) -> None:
        await store_while_gathering(stream, settings, topic, projector.process, worker.held[topic], worker.pauses)

    return project


async def publish_events(topic: faust.TopicT, events: list[Event], partitions: int) -> None:
    """Publish events, one record per node (keyed and partitioned by node id), and wait until all are stored."""
    by_node: dict[str, list[Event]] = {}
    for e in events:
        by_node.setdefault(e.node_id, []).append(e)
    sent = [
        await topic.send(
            key=node_id.encode(),
            value=events_wire.encode(events_wire.EventBatch(events_wire.WIRE_VERSION, batch)),
            partition=partition_for(node_id, partitions),
            force=True,
        )
        for node_id, batch in by_node.items()
    ]
    await asyncio.gather(*sent)


async def retry(what: str, fn: Callable[..., T], *args: Any) -> T:
    """Run fn in a thread until it succeeds: an unacked batch blocks its partitions, which is right while
    ClickHouse is down."""

    async def call() -> T:
        return await asyncio.to_thread(fn, *args)

    return await retry_async(what, call)


async def retry_async(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Await fn until it succeeds, backing off up to 10 s between tries."""
    attempt = 0
    while True:
        try:
            return await fn(*args)
        except Exception:
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            log.exception("%s failed; retrying in %.1f s", what, delay)
            attempt += 1
            await asyncio.sleep(delay)


def lag_by_partition(worker: Worker) -> dict[tuple[str, int], int]:
    """Records not yet handled per (topic, partition) this worker holds whose high watermark it has fetched;
    empty while the consumer is not running or is being rebalanced (a scrape reads this from another thread)."""
    if not worker.app._started.is_set():  # app.consumer would build the consumer, bound to the caller's loop
        return {}
    try:
        consumer = worker.app.consumer
        highwaters = {(tp.topic, tp.partition): consumer.highwater(tp) for tp in consumer.assignment()}
        handled = {topic: worker.stored_offsets(topic) for topic in {t for t, _ in highwaters} & set(worker.projectors)}
    except Exception:
        return {}
    return {
        (topic, partition): max(0, highwater - 1 - handled[topic].get(partition, -1))
        for (topic, partition), highwater in highwaters.items()
        if highwater is not None and highwater >= 0 and topic in handled
    }


def consumer_lag(worker: Worker) -> int:
    """Records not yet handled in the partitions this worker holds (from fetched high watermarks); -1
    when the consumer has not fetched yet."""
    try:
        consumer = worker.app.consumer
        assigned = consumer.assignment()
        highwaters = {(tp.topic, tp.partition): consumer.highwater(tp) for tp in assigned}
    except Exception:
        return -1
    done = {
        (topic, partition): offset
        for topic in worker.projectors
        for partition, offset in worker.stored_offsets(topic).items()
    }
    return resource_monitor.consumer_lag(highwaters, done)
