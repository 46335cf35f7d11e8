"""Syslog ingest against a real broker: real senders (util-linux logger) and raw sockets for the bad cases.

Each test runs serve(), sends, stops it (which drains to Kafka), then reads the raw topic from the
offsets it had before, and checks every line: bytes, source, transport, flags and partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.config import SyslogConfig
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from ingest.counters import Counters
from ingest.kafka_producer import BoundedProducer
from ingest.syslog.service import serve
from ingest.syslog.tcp import server_context
from schemas.raw_syslog import LineFlag, RawBatch, decode, encode
from schemas.topics import SYSLOG_RAW, partition_for
from tests import brokers

pytestmark = pytest.mark.integration

PARTITIONS = 4
LOGGER = shutil.which("logger")
OPENSSL = shutil.which("openssl")
OV, TR, FR = int(LineFlag.OVERSIZED), int(LineFlag.TRUNCATED), int(LineFlag.FRAMING)
Line = tuple[str, str, bytes, int]
"""(transport, source, line, flags) as read back from the topic."""


Mark = tuple[dict[int, int], int]
"""End offsets of the raw topic's partitions, and the time they were read."""


async def _mark(broker: brokers.Cluster) -> Mark:
    """Where the raw topic ends now: a test reads what was written after this."""
    await ensure_topics(broker.admin, PARTITIONS, 1)
    return await _end_offsets(broker.admin), time.time_ns()


async def _end_offsets(kafka: KafkaAccess) -> dict[int, int]:
    admin = kafka_client.admin(kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([SYSLOG_RAW])
    finally:
        await admin.close()
    tps = [TopicPartition(SYSLOG_RAW, p["partition"]) for p in described["partitions"]]
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def _records_since(kafka: KafkaAccess, mark: Mark, lines: int) -> list[tuple[int, RawBatch]]:
    """The records this test wrote, as (partition, batch): read until `lines` lines, then a bit longer.

    Records received before since_ns belong to earlier tests. Reading on after the expected count
    catches any duplicate.
    """
    start, since_ns = mark
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[int, int, RawBatch]] = []
    try:
        tps = [TopicPartition(SYSLOG_RAW, p) for p in start]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp.partition])
        deadline = time.monotonic() + 30
        settle_until = None
        while time.monotonic() < (settle_until or deadline):
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for record in records:
                    batch = decode(record.value)
                    if batch.received_ns and batch.received_ns[0] >= since_ns:
                        out.append((tp.partition, record.offset, batch))
            if settle_until is None and sum(len(b) for _, _, b in out) >= lines:
                settle_until = time.monotonic() + 1.0
    finally:
        await consumer.stop()
    out.sort(key=lambda r: (r[0], r[1]))
    return [(partition, batch) for partition, _, batch in out]


def _lines(records: list[tuple[int, RawBatch]], partitions: int = PARTITIONS) -> list[Line]:
    """Flatten records, checking on the way that every line sits in its source's partition."""
    lines: list[Line] = []
    for partition, batch in records:
        for source, line, flags in zip(batch.sources, batch.lines, batch.flags, strict=True):
            assert partition == partition_for(source, partitions), (source, partition)
            lines.append((batch.transport, source, line, flags))
    return lines


@contextlib.asynccontextmanager
async def running(broker: brokers.Cluster, **settings: object) -> AsyncIterator[tuple[Counters, SyslogConfig]]:
    """serve() with the given settings on fresh ports; on exit stops it, so everything is in Kafka."""
    port = brokers.free_port()
    defaults: dict[str, object] = {"udp_port": port, "tcp_port": port, "tls_port": 0, "relp_port": 0, "batch_ms": 50}
    config = SyslogConfig(**{**defaults, **settings})  # type: ignore[arg-type]
    counters = Counters()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(config, broker.stage("ingest"), PARTITIONS, stop, ready, counters=counters))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiting], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(task, 20)
        raise AssertionError("serve() did not become ready")
    try:
        yield counters, config
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _until(predicate, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def _udp(port: int, *datagrams: bytes, source: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


async def _tcp(port: int, data: bytes, context: ssl.SSLContext | None = None) -> None:
    """Connect, send, close (mid-frame if data ends mid-frame)."""
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(data)
    await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()


@pytest.mark.skipif(LOGGER is None, reason="util-linux logger is not installed (apt-get install bsdutils)")
async def test_logger_lines_arrive_exactly_once_with_source_and_transport(broker):
    mark = await _mark(broker)
    marker = uuid.uuid4().hex
    variants = [
        ("--udp", "--rfc3164", False),
        ("--udp", "--rfc5424", False),
        ("--tcp", "--rfc3164", False),
        ("--tcp", "--rfc5424", False),
        ("--tcp", "--rfc3164", True),
        ("--tcp", "--rfc5424", True),
    ]
    async with running(broker) as (counters, config):
        for i, (transport, fmt, octet) in enumerate(variants):
            args = [LOGGER, "-n", "127.0.0.1", "-P", str(config.udp_port), transport, fmt]
            args += ["--octet-count"] if octet else []
            subprocess.run([*args, f"{marker} variant {i}"], check=True, timeout=10)
        await _until(lambda: counters["udp"].received + counters["tcp"].received == len(variants), "lines")
    after = time.time_ns()
    records = await _records_since(broker.admin, mark, len(variants))
    lines = _lines(records)
    assert len(lines) == len(variants), counters.snapshot()
    for i, (transport, fmt, _) in enumerate(variants):
        (found,) = [x for x in lines if x[2].endswith(f"{marker} variant {i}".encode())]
        assert found[0] == transport.strip("-")
        assert found[1] == "127.0.0.1"
        assert found[3] == 0
        assert found[2].startswith(b"<13>1 " if fmt == "--rfc5424" else b"<13>")
        assert not found[2].endswith(b"\n")
    assert all(mark[1] <= ns <= after for _, batch in records for ns in batch.received_ns)
    snapshot = counters.snapshot()
    assert snapshot["udp"]["delivered"] == 2 and snapshot["tcp"]["delivered"] == 4
    assert snapshot["udp"]["dropped"] == snapshot["tcp"]["dropped"] == 0


async def test_malformed_input_is_kept_flagged_and_receivers_keep_running(broker):
    mark = await _mark(broker)
    rng = random.Random(5425)
    garbage = b"\x00" + rng.randbytes(200).replace(b"\n", b"").replace(b"\r", b"")
    big = bytes(rng.randrange(32, 127) for _ in range(600))
    udp = [
        garbage,
        b"<13>caf\xe9 \xff\xfe not utf-8\n",
        b"",
        b"<13>two\nlines in one datagram\n",
        big,
        b"<13>udp still alive",
    ]
    tcp = [
        b"<13>crlf line\r\n" + big + b"\n" + b"99999999999 bad count\n" + b"11 <13>counted" + b"20 <13>cut",
        garbage + b"\n<13>tcp still alive\n",
    ]
    want_udp = [
        (garbage, 0),
        (b"<13>caf\xe9 \xff\xfe not utf-8", 0),
        (b"", 0),
        (b"<13>two\nlines in one datagram", 0),
        (big[0:256], OV),
        (big[256:512], OV),
        (big[512:], OV),
        (b"<13>udp still alive", 0),
    ]
    first = [
        (b"<13>crlf line", 0),
        (big[0:256], OV),
        (big[256:512], OV),
        (big[512:], OV),
        (b"99999999999 bad count", FR),
        (b"<13>counted", 0),
        (b"<13>cut", TR),
    ]
    second = [(garbage, 0), (b"<13>tcp still alive", 0)]
    async with running(broker, max_line_bytes=256) as (counters, config):
        _udp(config.udp_port, *udp)
        for data in tcp:
            await _tcp(config.tcp_port, data)
        await _until(
            lambda: (counters["udp"].received, counters["tcp"].received) == (len(want_udp), len(first + second)),
            "every line",
        )
    lines = _lines(await _records_since(broker.admin, mark, len(want_udp + first + second)))
    assert [(line, flags) for transport, _, line, flags in lines if transport == "udp"] == want_udp
    assert [(line, flags) for transport, _, line, flags in lines if transport == "tcp"] == first + second
    assert {source for _, source, _, _ in lines} == {"127.0.0.1"}
    snapshot = counters.snapshot()
    assert snapshot["udp"]["oversized"] == 3 and snapshot["tcp"]["oversized"] == 3
    assert snapshot["tcp"]["truncated"] == 1 and snapshot["tcp"]["framing"] == 1
    assert snapshot["udp"]["dropped"] == snapshot["tcp"]["dropped"] == 0


async def test_connections_above_the_limit_are_closed_and_counted(broker):
    mark = await _mark(broker)
    async with running(broker, max_tcp_connections=2, udp_port=0) as (counters, config):
        port = config.tcp_port
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for i, (_, writer) in enumerate(held):
            writer.write(b"<13>held %d\n" % i)
            await writer.drain()
        await _until(lambda: counters["tcp"].connections == 2 and counters["tcp"].received == 2, "two held")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with contextlib.suppress(ConnectionError):
            writer.write(b"<13>refused\n")
            assert await asyncio.wait_for(reader.read(100), 10) == b""
        writer.close()
        await _until(lambda: counters["tcp"].rejected == 1, "the rejection")
        for i, (_, writer) in enumerate(held):
            writer.write(b"<13>held %d again\n" % i)
            await writer.drain()
            writer.close()
        await _until(lambda: counters["tcp"].connections == 0, "connections to close")
        await _tcp(port, b"<13>after\n")
        await _until(lambda: counters["tcp"].received == 5, "all lines")
    lines = sorted(line for _, _, line, _ in _lines(await _records_since(broker.admin, mark, 5)))
    assert lines == [b"<13>after", b"<13>held 0", b"<13>held 0 again", b"<13>held 1", b"<13>held 1 again"]
    assert counters.snapshot()["tcp"]["rejected"] == 1


async def _slowloris(port: int, count: int, source: str) -> list[asyncio.StreamWriter]:
    """Connections from `source` that each send part of a line and then idle, as the attack did."""
    writers = []
    for i in range(count):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writer.write(b"<13>partial %d" % i)
            await writer.drain()
        except ConnectionError:
            continue
        writers.append(writer)
    return writers


async def test_slowloris_from_one_source_leaves_room_for_other_senders(broker):
    """Hardening issue, finding 4: 520 idle partial-line connections filled the 512-connection cap."""
    mark = await _mark(broker)
    async with running(broker, udp_port=0) as (counters, config):
        attack = await _slowloris(config.tcp_port, 520, "127.0.0.2")
        await _until(
            lambda: counters["tcp"].connections + counters["tcp"].rejected_per_source == 520, "the attack to land"
        )
        assert counters["tcp"].connections == config.max_tcp_connections_per_source
        await _tcp(config.tcp_port, b"<13>legitimate sender\n")
        await _until(lambda: counters["tcp"].received == 1, "the legitimate line")
        for writer in attack:
            writer.close()
        await _until(lambda: counters["tcp"].connections == 0, "the attack's connections to end")
    lines = _lines(await _records_since(broker.admin, mark, 1 + config.max_tcp_connections_per_source))
    assert [(source, line) for _, source, line, _ in lines if source == "127.0.0.1"] == [
        ("127.0.0.1", b"<13>legitimate sender")
    ]
    # the attack's partial lines are kept, flagged: nothing a sender wrote is lost
    partial = [(line, flags) for _, source, line, flags in lines if source == "127.0.0.2"]
    assert len(partial) == config.max_tcp_connections_per_source
    assert all(flags & LineFlag.TRUNCATED for _, flags in partial)
    assert counters["tcp"].rejected_per_source == 520 - config.max_tcp_connections_per_source


async def test_stalled_connections_give_their_slots_and_time_out(broker):
    """Every slot held by stalled partial frames: a newcomer evicts the longest stalled, the rest time out."""
    mark = await _mark(broker)
    settings = {
        "udp_port": 0,
        "max_tcp_connections": 6,
        "max_tcp_connections_per_source": 6,
        "tcp_evictable_after_s": 1.0,
        "tcp_partial_timeout_s": 8.0,  # well after the newcomer, even on a loaded machine
    }
    async with running(broker, **settings) as (counters, config):
        attack = await _slowloris(config.tcp_port, 6, "127.0.0.2")
        await _until(lambda: counters["tcp"].connections == 6, "every slot taken")
        await asyncio.sleep(1.5)  # the attack's frames are now stalled past tcp_evictable_after_s
        await _tcp(config.tcp_port, b"<13>newcomer\n")
        await _until(lambda: counters["tcp"].received >= 2, "the newcomer's line and the evicted partial")
        assert counters["tcp"].evicted == 1 and counters["tcp"].rejected == 0
        await _until(lambda: counters["tcp"].closed_partial == 5, "the partial-frame timeout", timeout=30)
        # The sweep counts a close when it aborts the connection; its handler ends (and leaves the gauge) after.
        await _until(lambda: counters["tcp"].connections == 0, "the closed connections' handlers ended")
        for writer in attack:
            writer.close()
    lines = _lines(await _records_since(broker.admin, mark, 7))
    assert sorted(line for _, source, line, _ in lines if source == "127.0.0.1") == [b"<13>newcomer"]
    partial = sorted(line for _, source, line, _ in lines if source == "127.0.0.2")
    assert partial == sorted(b"<13>partial %d" % i for i in range(6))


async def test_a_busy_sender_is_neither_evicted_nor_timed_out(broker):
    """Reads that end mid-line are the norm for a busy stream: only a frame that completes nothing ages."""
    settings = {"udp_port": 0, "max_tcp_connections": 1, "tcp_evictable_after_s": 2.0, "tcp_partial_timeout_s": 2.0}
    async with running(broker, **settings) as (counters, config):
        _, writer = await asyncio.open_connection("127.0.0.1", config.tcp_port)
        writer.write(b"<13>busy ")
        # Every 0.1 s, for three times the timeouts, the rest of a line and the start of the next: reads end
        # mid-frame. The timeouts leave a loaded machine's pauses room (an idle stretch of 2 s would close it).
        for i in range(60):
            writer.write(b"line %d\n<13>busy " % i)
            await writer.drain()
            await asyncio.sleep(0.1)
        reader, other = await asyncio.open_connection("127.0.0.1", config.tcp_port)
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(100), 10) == b""
        other.close()
        await _until(lambda: counters["tcp"].rejected == 1, "the newcomer refused")
        assert counters["tcp"].evicted == counters["tcp"].closed_partial == 0
        assert counters["tcp"].connections == 1
        writer.close()


def _certificate(directory: Path) -> tuple[str, str]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
async def test_tls_receiver_rfc5425(broker, tmp_path):
    cert, key = _certificate(tmp_path)
    assert server_context(cert, key).minimum_version == ssl.TLSVersion.TLSv1_2
    client = ssl.create_default_context(cafile=cert)
    mark = await _mark(broker)
    port = brokers.free_port()
    frames = [b"<13>1 - host app - - - over tls %d" % i for i in range(50)]
    settings = {"udp_port": 0, "tcp_port": 0, "tls_port": port, "tls_cert": cert, "tls_key": key}
    async with running(broker, **settings) as (counters, _):
        await _tcp(port, b"".join(b"%d %s" % (len(f), f) for f in frames), client)
        await _tcp(port, b"<13>newline framed\n", client)
        legacy = ssl.create_default_context(cafile=cert)
        legacy.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await _tcp(port, b"<13>tls 1.1\n", legacy)
        await _until(lambda: counters["tls"].received == len(frames) + 1, "tls lines")
    lines = _lines(await _records_since(broker.admin, mark, len(frames) + 1))
    assert lines == [("tls", "127.0.0.1", f, 0) for f in frames] + [("tls", "127.0.0.1", b"<13>newline framed", 0)]


async def test_stop_drains_pending_lines_from_many_sources(broker):
    mark = await _mark(broker)
    sources = [f"127.0.0.{i}" for i in range(2, 12)]
    per_source = 1000  # all of it stays under one record's byte limit (ingest.syslog.batcher.BATCH_BYTES)
    # A batch timer of ten minutes: only the drain at stop can send the lines before running() gives up (30 s).
    async with running(broker, tcp_port=0, batch_ms=600_000, batch_lines=100_000) as (counters, config):
        for source in sources:
            _udp(config.udp_port, *(b"<13>%s n=%d" % (source.encode(), i) for i in range(per_source)), source=source)
        total = per_source * len(sources)
        await _until(lambda: counters["udp"].received == total, f"{total} datagrams")
        assert counters["udp"].batches == 0, "batch_ms and batch_lines should hold everything until stop"
    lines = _lines(await _records_since(broker.admin, mark, total))
    by_source: dict[str, list[bytes]] = {}
    for transport, source, line, flags in lines:
        assert transport == "udp" and flags == 0
        by_source.setdefault(source, []).append(line)
    assert by_source == {s: [b"<13>%s n=%d" % (s.encode(), i) for i in range(per_source)] for s in sources}
    assert len({partition_for(s, PARTITIONS) for s in sources}) > 1
    snapshot = counters.snapshot()["udp"]
    assert snapshot["delivered"] == total and snapshot["dropped"] == 0 and snapshot["kernel_dropped"] == 0


async def test_stop_before_kafka_is_reachable_returns():
    port = brokers.free_port()
    config = SyslogConfig(udp_port=brokers.free_port(), tcp_port=0, tls_port=0, relp_port=0)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(config, KafkaAccess(f"127.0.0.1:{port}"), PARTITIONS, stop, ready))
    await asyncio.sleep(1)
    assert not task.done() and not ready.is_set()
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_full_queue_drops_and_counts_instead_of_waiting():
    counters = Counters()
    batch = RawBatch(1, "udp", [1, 2], ["127.0.0.1"] * 2, [b"a", b"b"], [0, 0])
    producer = BoundedProducer(KafkaAccess("127.0.0.1:1"), SYSLOG_RAW, counters, max_bytes=len(encode(batch)) + 1)
    assert producer.offer(0, batch)
    assert not producer.offer(0, batch)
    assert counters["udp"].dropped == 2 and producer.queued_lines == 2
    assert producer.offer(0, batch, force=True) and producer.queued_lines == 4
    await producer.close(0.1)
    assert counters["udp"].dropped == 6 and counters["udp"].delivered == 0
