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

from common.config import SyslogConfig
from common.kafka_client import KafkaAccess
from ingest.counters import Counters, log_periodically
from ingest.kafka_producer import BoundedProducer
from ingest.syslog.batcher import Batcher
from ingest.syslog.tcp import StreamReceiver, server_context
from ingest.udp import Deliver, UdpReceiver, open_socket
from schemas.topics import SYSLOG_RAW

log = logging.getLogger("netobs.ingest")

DRAIN_SECONDS = 10.0
LOG_SECONDS = 30.0
MIN_QUEUE_LINES = 200_000
"""Lines waiting for Kafka acknowledgement before UDP lines are dropped (at least 20 batches)."""


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
) -> None:
    """Receive syslog on the enabled ports (0 is off) and produce it to the raw topic until stop is set.

    Kafka is connected first (retried until stop), then the receivers listen and ready is set. On stop,
    receivers close, pending lines are cut into records and sent, waiting at most drain_seconds; what
    Kafka did not acknowledge by then is counted as dropped. Pass counters to read them afterwards.
    """
    counters = counters if counters is not None else Counters()
    queue_lines = max(MIN_QUEUE_LINES, 20 * syslog.batch_lines)
    producer = BoundedProducer(kafka, SYSLOG_RAW, counters, max_lines=queue_lines)
    count = await producer.start(partitions, stop)
    if count is None:
        return
    batchers: list[Batcher] = []
    udp: UdpReceiver | None = None
    streams: list[StreamReceiver] = []
    tasks: list[asyncio.Task[None]] = []

    def receiver_input(transport: str) -> Deliver:
        """What a receiver calls with lines: count them, batch them, offer full records to Kafka."""
        batcher = Batcher(transport, count, syslog.batch_lines, syslog.batch_ms)
        batchers.append(batcher)
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
                max_backlog=queue_lines,
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
                max_connections=syslog.max_tcp_connections,
                ssl_context=context,
            )
            await stream.start(syslog.bind, port)
            streams.append(stream)
            log.info("syslog %s listening on %s:%d", transport, *stream.address)
        tasks.append(asyncio.create_task(_cut_expired(batchers, producer, syslog.batch_ms)))
        enabled = tuple(b.transport for b in batchers)
        tasks.append(asyncio.create_task(log_periodically(counters, log_seconds, enabled)))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        await _drain(udp, streams, tasks, batchers, producer, drain_seconds)
        totals = counters.snapshot()
        log.info("syslog ingest stopped: %s", {b.transport: totals[b.transport] for b in batchers})


async def _drain(
    udp: UdpReceiver | None,
    streams: list[StreamReceiver],
    tasks: list[asyncio.Task[None]],
    batchers: list[Batcher],
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
    for batcher in batchers:
        for partition, batch in batcher.drain():
            producer.offer(partition, batch, force=True)
    await producer.close(max(0.5, deadline - time.monotonic()))


async def _cut_expired(batchers: list[Batcher], producer: BoundedProducer, batch_ms: int) -> None:
    """Send records that have waited batch_ms, checking a few times per batch_ms."""
    while True:
        await asyncio.sleep(max(batch_ms / 4, 5) / 1000)
        now = time.monotonic()
        for batcher in batchers:
            for partition, batch in batcher.expired(now):
                producer.offer(partition, batch, force=batcher.transport != "udp")


def _add_dropped(counters: Counters, transport: str) -> Callable[[int], None]:
    def add(n: int) -> None:
        counters[transport].dropped += n

    return add


def _kernel_drops_refresher(counters: Counters, udp: UdpReceiver) -> Callable[[], None]:
    def refresh() -> None:
        counters["udp"].kernel_dropped = udp.kernel_dropped()

    return refresh
