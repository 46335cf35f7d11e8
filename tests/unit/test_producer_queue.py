"""Ingest's memory queue in front of Kafka (hardening finding 13): bounded in encoded bytes, not lines, and
able to shed (take nothing more) while its process nears its memory ceiling. No broker: nothing is sent, so
what is offered stays queued and the bound is what decides."""

from __future__ import annotations

import asyncio
from pathlib import Path

from common.kafka_client import KafkaAccess
from ingest.counters import Counters
from ingest.kafka_producer import BoundedProducer
from ingest.spool.disk import SpoolStats, open_spool
from schemas.raw_syslog import RawBatch, encode
from schemas.topics import SYSLOG_RAW

NOWHERE = KafkaAccess("127.0.0.1:1")


def _batch(lines: int, size: int, transport: str = "udp") -> RawBatch:
    return RawBatch(1, transport, [1] * lines, ["192.0.2.1"] * lines, [b"x" * size] * lines, [0] * lines)


async def test_the_bound_is_bytes_so_long_lines_fill_it_with_fewer_lines() -> None:
    short, long = _batch(100, 100), _batch(100, 10_000)
    bound = 10 * len(encode(short))
    for batch, fits in ((short, 10), (long, 0)):
        counters = Counters()
        producer = BoundedProducer(NOWHERE, SYSLOG_RAW, counters, max_bytes=bound)
        taken = sum(producer.offer(0, batch) for _ in range(20))
        assert taken == fits
        assert producer.queued_bytes <= bound
        assert counters["udp"].dropped == (20 - fits) * 100
        await producer.close(0.1)


async def test_tcp_waits_for_room_while_the_queue_is_over_its_bytes() -> None:
    batch = _batch(10, 1000, "tcp")
    producer = BoundedProducer(NOWHERE, SYSLOG_RAW, Counters(), max_bytes=len(encode(batch)))
    await asyncio.wait_for(producer.room(), 1)
    assert producer.offer(0, batch, force=True)
    waiting = asyncio.create_task(producer.room())
    await asyncio.sleep(0.05)
    assert not waiting.done(), "a full queue must make TCP readers wait"
    waiting.cancel()
    await producer.close(0.1)


async def test_shedding_takes_nothing_more_until_it_ends() -> None:
    batch = _batch(10, 100, "tcp")
    counters = Counters()
    producer = BoundedProducer(NOWHERE, SYSLOG_RAW, counters, max_bytes=1 << 20)
    producer.shed(True)
    waiting = asyncio.create_task(producer.room())
    await asyncio.sleep(0.05)
    assert not waiting.done(), "TCP readers wait while the process sheds"
    assert not producer.offer(0, batch), "nothing unforced is queued while shedding"
    producer.shed(False)
    await asyncio.wait_for(waiting, 1)
    assert producer.offer(0, batch)
    assert producer.queued_lines == 10 and counters["tcp"].dropped == 10
    await producer.close(0.1)


async def test_udp_goes_to_the_spool_while_shedding(tmp_path: Path) -> None:
    spool_counters = SpoolStats()
    spool = open_spool(tmp_path / "spool", 64 << 20, spool_counters)
    assert spool is not None
    counters = Counters()
    producer = BoundedProducer(NOWHERE, SYSLOG_RAW, counters, max_bytes=1 << 20, spool=spool, spill=frozenset({"udp"}))
    producer.shed(True)
    assert producer.offer(0, _batch(10, 100))
    assert counters["udp"].spooled == 10 and counters["udp"].dropped == 0 and producer.queued_bytes == 0
    await producer.close(0.1)
