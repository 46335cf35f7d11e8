"""Hardening issue, finding 9, second half: garbage from one sender stalled its partition, and clean lines from
other senders in the same partition were not stored for minutes. Now a sender that floods keeps its partition
and the other senders of that partition are placed in the remaining ones, so they do not wait behind it.

Real UDP datagrams into serve(), read back from the real broker's raw topic."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ingest.syslog.fairness import WINDOW_LINES
from schemas.topics import partition_for
from tests.integration.test_ingest_kafka import PARTITIONS, _mark, _records_since, _until, running

pytestmark = pytest.mark.integration

ROUNDS, FLOOD, EACH = 1000, 100, 10
"""Rounds of 100 lines from the flooding sender and 10 from each other one: 10x the others."""


def _by_partition(partition: int, exclude: frozenset[str] = frozenset()) -> str:
    """A loopback sender address whose own partition is partition."""
    return next(
        s
        for s in (f"127.0.0.{i}" for i in range(2, 255))
        if partition_for(s, PARTITIONS) == partition and s not in exclude
    )


async def test_a_flooding_sender_keeps_its_partition_and_the_others_of_it_do_not_wait_behind_it(broker) -> None:
    flood = _by_partition(1)
    neighbour = _by_partition(1, frozenset({flood}))
    others = [neighbour, _by_partition(0), _by_partition(3)]
    mark = await _mark(broker)
    socks = {}
    for source in [flood, *others]:
        socks[source] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks[source].bind((source, 0))
    sent = dict.fromkeys(socks, 0)
    async with running(broker, tcp_port=0) as (counters, config):
        for _ in range(ROUNDS):
            for source, n in ((flood, FLOOD), *((o, EACH) for o in others)):
                for _ in range(n):
                    socks[source].sendto(
                        b"<13>fairness %s %d" % (source.encode(), sent[source]), ("127.0.0.1", config.udp_port)
                    )
                    sent[source] += 1
            await asyncio.sleep(0.005)
        total = sum(sent.values())
        await _until(lambda: counters["udp"].received == total, f"{total} datagrams")
        moved = counters.snapshot()["udp"].get("moved")
    for sock in socks.values():
        sock.close()
    records = await _records_since(broker.admin, mark, total)
    placed: dict[str, list[tuple[int, int]]] = {s: [] for s in sent}
    for partition, batch in records:
        for source, line in zip(batch.sources, batch.lines, strict=True):
            placed[source].append((partition, int(line.split()[-1])))
    assert {s: sorted(n for _, n in v) for s, v in placed.items()} == {s: list(range(n)) for s, n in sent.items()}
    assert {p for p, _ in placed[flood]} == {1}, "the flood keeps its partition (and its order)"
    waited = [n for p, n in placed[neighbour] if p == 1]
    elsewhere = [n for p, n in placed[neighbour] if p != 1]
    first_window = WINDOW_LINES * EACH / (FLOOD + len(others) * EACH)  # its lines before the flood was measured
    assert len(waited) < 2 * first_window < sent[neighbour] / 5, "only lines from before the flood was seen wait"
    assert not waited or max(waited) < min(elsewhere)
    assert moved == len(elsewhere)
    for source in others[1:]:
        assert {p for p, _ in placed[source]} == {partition_for(source, PARTITIONS)}, "the rest stay where they were"
