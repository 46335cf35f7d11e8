"""The syslog ingest stage: receivers -> batchers -> Kafka, until stop, then a bounded drain.

Ingest does as little as possible: receive, stamp receive time and source, batch, produce. Parsing
belongs to the processors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from common import pressure
from common.config import SyslogConfig
from common.kafka_client import KafkaAccess
from ingest import ledger
from ingest.counters import Counters, log_periodically
from ingest.kafka_producer import BoundedProducer
from ingest.spool.disk import open_spool
from ingest.syslog.acks import DeliveryAcks
from ingest.syslog.admission import Limits
from ingest.syslog.batcher import Batcher
from ingest.syslog.fairness import SenderShare
from ingest.syslog.relp_server import RelpReceiver
from ingest.syslog.tcp import StreamReceiver, server_context
from ingest.udp import Deliver, UdpReceiver, open_socket
from schemas.raw_syslog import RawBatch
from schemas.topics import SYSLOG_RAW

log = logging.getLogger("netobs.ingest")

DRAIN_SECONDS = 10.0
LOG_SECONDS = 30.0
UDP_BACKLOG_LINES = 200_000
"""Lines the UDP receiving thread may hand to the loop before it drops them (a hand-off, emptied as fast as the
loop runs; what waits for Kafka is bounded in bytes by syslog.queue_bytes)."""

Outlet = tuple[Batcher, DeliveryAcks | None]
"""A transport's batcher, and the DeliveryAcks its records go through when its receiver answers its sender."""


async def serve(
    syslog: SyslogConfig,
    kafka: KafkaAccess,
    partitions: int,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    *,
    counters: Counters | None = None,
    drain_seconds: float = DRAIN_SECONDS,
    log_seconds: float = LOG_SECONDS,
    ledger_path: Path | None = None,
    spool_dir: Path | None = None,
    shed_on_signals: bool = False,
) -> None:
    """Receive syslog on the enabled ports (0 is off) and produce it to the raw topic until stop is set.

    Kafka is connected first (retried until stop), then the receivers listen and ready is set. On stop,
    receivers close, pending lines are cut into records and sent, waiting at most drain_seconds; what
    Kafka did not acknowledge by then is spooled (UDP, with a spool) or counted as dropped. Pass counters
    to read them afterwards. With ledger_path, what was accepted and not yet confirmed is written down
    every second (ingest.ledger), and the start reports what a previous run that did not stop cleanly may
    have lost. With spool_dir and syslog.spool_max_bytes, UDP lines the broker cannot take yet wait there
    (ingest.spool), and what a previous run left there is sent first. With shed_on_signals, common.pressure's
    signals make the queue take nothing more into memory, and then take again.
    """
    started = ledger.open_ledger(ledger_path) if ledger_path is not None else 0.0
    counters = counters if counters is not None else Counters()
    spool = open_spool(spool_dir, syslog.spool_max_bytes, counters.spool)
    if spool is not None:
        counters.refreshers.append(_spool_refresher(counters))
    producer = BoundedProducer(
        kafka, SYSLOG_RAW, counters, max_bytes=syslog.queue_bytes, spool=spool, spill=frozenset({"udp"})
    )
    count = await producer.start(partitions, stop)
    if count is None:
        if spool is not None:
            spool.close()
        if ledger_path is not None:  # stopped before anything was received
            ledger.write(ledger_path, ledger.entry(counters.snapshot(), started, clean=True))
        return
    if shed_on_signals:
        stop_listening = pressure.on_signals(asyncio.get_running_loop(), _shedder(producer))
    batchers: list[Outlet] = []
    share = SenderShare(count)
    counters.refreshers.append(_share_refresher(counters, share, batchers))
    udp: UdpReceiver | None = None
    streams: list[StreamReceiver | RelpReceiver] = []
    tasks: list[asyncio.Task[None]] = []

    def receiver_input(transport: str) -> Deliver:
        """What a receiver calls with lines: count them, batch them, offer full records to Kafka."""
        batcher = Batcher(transport, count, syslog.batch_lines, syslog.batch_ms, share=share)
        batchers.append((batcher, None))
        totals = counters[transport]
        force = transport != "udp"

        def deliver(source: str, received_ns: list[int], lines: list[bytes], flags: list[int] | None) -> None:
            totals.received += len(lines)
            totals.bytes += sum(map(len, lines))
            if flags is not None:
                counters.count_flags(transport, flags)
            for partition, batch in batcher.add(source, received_ns, lines, flags):
                producer.offer(partition, batch, force)

        return deliver

    try:
        if syslog.udp_port:
            udp = UdpReceiver(
                open_socket(syslog.bind, syslog.udp_port),
                asyncio.get_running_loop(),
                receiver_input("udp"),
                on_dropped=_add_dropped(counters, "udp"),
                max_line=syslog.max_line_bytes,
                max_backlog=UDP_BACKLOG_LINES,
            )
            udp.start()
            counters.refreshers.append(_kernel_drops_refresher(counters, udp))
            log.info("syslog udp listening on %s:%d", *udp.address)
        stream_ports: list[tuple[str, int, ssl.SSLContext | None]] = [("tcp", syslog.tcp_port, None)]
        if syslog.tls_cert and syslog.tls_key:
            stream_ports.append(("tls", syslog.tls_port, server_context(syslog.tls_cert, syslog.tls_key)))
        elif syslog.tls_port:
            log.info("syslog tls off: no tls_cert and tls_key configured")
        for transport, port, context in stream_ports:
            if not port:
                continue
            stream = StreamReceiver(
                transport,
                receiver_input(transport),
                producer.room,
                counters[transport],
                max_line=syslog.max_line_bytes,
                limits=Limits(
                    max_connections=syslog.max_tcp_connections,
                    per_source=syslog.max_tcp_connections_per_source,
                    partial_timeout=syslog.tcp_partial_timeout_s,
                    idle_timeout=syslog.tcp_idle_timeout_s,
                    evictable_after=syslog.tcp_evictable_after_s,
                ),
                ssl_context=context,
            )
            await stream.start(syslog.bind, port)
            streams.append(stream)
            log.info("syslog %s listening on %s:%d", transport, *stream.address)
        if syslog.relp_port:
            acks = DeliveryAcks(Batcher("relp", count, syslog.batch_lines, syslog.batch_ms, share=share), producer)
            batchers.append((acks.batcher, acks))
            relp = RelpReceiver(
                acks,
                producer.room,
                counters["relp"],
                max_line=syslog.max_line_bytes,
                max_connections=syslog.max_tcp_connections,
            )
            await relp.start(syslog.bind, syslog.relp_port)
            streams.append(relp)
            log.info("syslog relp listening on %s:%d", *relp.address)
        tasks.append(asyncio.create_task(_cut_expired(batchers, producer, syslog.batch_ms)))
        enabled = tuple(b.transport for b, _ in batchers)
        tasks.append(asyncio.create_task(log_periodically(counters, log_seconds, enabled)))
        if ledger_path is not None:
            tasks.append(asyncio.create_task(ledger.keep(ledger_path, counters.snapshot, started)))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        if shed_on_signals:
            stop_listening()
        await _drain(udp, streams, tasks, batchers, producer, drain_seconds)
        totals = counters.snapshot()
        if ledger_path is not None:
            ledger.write(ledger_path, ledger.entry(totals, started, clean=True))
        log.info("syslog ingest stopped: %s", {b.transport: totals[b.transport] for b, _ in batchers})


async def _drain(
    udp: UdpReceiver | None,
    streams: list[StreamReceiver | RelpReceiver],
    tasks: list[asyncio.Task[None]],
    batchers: list[Outlet],
    producer: BoundedProducer,
    seconds: float,
) -> None:
    """Close the receivers (their last lines arrive), cut everything pending, and flush to Kafka."""
    deadline = time.monotonic() + seconds
    if udp is not None:
        await udp.stop(timeout=min(2.0, seconds / 4))
    for stream in streams:
        await stream.stop(timeout=min(2.0, seconds / 4))
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for batcher, acks in batchers:
        for partition, batch in batcher.drain():
            _offer(producer, acks, partition, batch, force=True)
    await producer.close(max(0.5, deadline - time.monotonic()))


async def _cut_expired(batchers: list[Outlet], producer: BoundedProducer, batch_ms: int) -> None:
    """Send records that have waited batch_ms, checking a few times per batch_ms."""
    while True:
        await asyncio.sleep(max(batch_ms / 4, 5) / 1000)
        now = time.monotonic()
        for batcher, acks in batchers:
            for partition, batch in batcher.expired(now):
                _offer(producer, acks, partition, batch, force=batcher.transport != "udp")


def _offer(producer: BoundedProducer, acks: DeliveryAcks | None, partition: int, batch: RawBatch, force: bool) -> None:
    """A record to Kafka; through DeliveryAcks when its lines' receiver waits for the broker's answer."""
    if acks is not None:
        acks.offer(partition, batch)
    else:
        producer.offer(partition, batch, force)


def _shedder(producer: BoundedProducer) -> Callable[[bool], None]:
    """Shedding on or off, told once per change (the node repeats its signal while a process stays high)."""

    def shed(on: bool) -> None:
        if on == producer.shedding:
            return
        producer.shed(on)
        log.warning(
            "%s",
            "shedding: nothing more is taken into memory (TCP senders wait, UDP goes to the spool)"
            if on
            else "shedding over: taking lines into memory again",
        )

    return shed


def _add_dropped(counters: Counters, transport: str) -> Callable[[int], None]:
    def add(n: int) -> None:
        counters[transport].dropped += n

    return add


def _kernel_drops_refresher(counters: Counters, udp: UdpReceiver) -> Callable[[], None]:
    def refresh() -> None:
        counters["udp"].kernel_dropped = udp.kernel_dropped()

    return refresh


def _spool_refresher(counters: Counters) -> Callable[[], None]:
    """The spool holds UDP lines only: its figures are UDP's (the ledger counts them as safe, not at risk)."""

    def refresh() -> None:
        counters["udp"].spool_lines = counters.spool.lines
        counters["udp"].spool_restored = counters.spool.restored_lines

    return refresh


def _share_refresher(counters: Counters, share: SenderShare, batchers: list[Outlet]) -> Callable[[], None]:
    def refresh() -> None:
        counters.heavy_senders = len(share.heavy)
        for batcher, _ in batchers:
            counters[batcher.transport].moved = batcher.moved

    return refresh
