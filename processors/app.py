"""The Faust app: consumes the raw syslog topic in batches and projects it into ClickHouse.

`stream.take_events` hands over a batch; Faust acks its events only after the loop body returns, and
commits only acked offsets, so an offset is committed after its rows were inserted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from netobs.config import WorkerConfig
from processors import sink
from processors.projector import Record, SyslogProjector
from schemas.topics import SYSLOG_RAW

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.5, 1, 2, 5, 10)


def make_app(bootstrap: str, partitions: int, worker: WorkerConfig, dsn: str, database: str) -> faust.App:
    """A Faust app wired to the raw syslog topic and the ClickHouse sink; worker.group_id names its group."""
    app = faust.App(
        worker.group_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # A dead worker's partitions move to the others within seconds, not Kafka's minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        broker_rebalance_timeout=20.0,
    )
    topic = app.topic(
        SYSLOG_RAW, value_type=bytes, value_serializer="raw", key_serializer="raw", partitions=partitions
    )
    projector = SyslogProjector(sink.connect(dsn), database, SYSLOG_RAW, worker.snapshot_seconds)
    app.projector = projector  # type: ignore[attr-defined]

    @app.agent(topic, name="syslog-projector")
    async def project(stream: faust.StreamT) -> None:
        async for events in stream.take_events(worker.batch_records, within=worker.batch_seconds):
            records: list[Record] = [
                (e.message.partition, e.message.offset, int(e.message.timestamp * 1e9), e.value)
                for e in events
            ]
            await _store_with_retry(projector, records)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[Any], **_: Any) -> None:
        partitions_gone = [tp.partition for tp in revoked if tp.topic == SYSLOG_RAW]
        if partitions_gone:
            await asyncio.to_thread(projector.release, partitions_gone)

    @app.timer(10.0)
    async def report() -> None:
        log.info(
            "syslog worker: %d lines stored, %d records skipped as already stored",
            projector.lines_stored,
            projector.records_skipped,
        )

    return app


async def _store_with_retry(projector: SyslogProjector, records: list[Record]) -> None:
    """Keep trying: an unacked batch blocks its partitions, which is right while ClickHouse is down."""
    attempt = 0
    while True:
        try:
            await asyncio.to_thread(projector.process, records)
            return
        except Exception:
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            log.exception("insert of %d records failed; retrying in %.1f s", len(records), delay)
            attempt += 1
            await asyncio.sleep(delay)
