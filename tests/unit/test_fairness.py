"""Hardening issue, finding 9, second half: a flood from one sender held back the senders sharing its partition
(their lines waited behind it). Now a heavy sender keeps its partition and the others of that partition are
placed in the remaining ones; nothing is dropped."""

from __future__ import annotations

import itertools

from ingest.syslog.batcher import Batcher
from ingest.syslog.fairness import SenderShare, flood_partitions, heavy_senders, place
from schemas.topics import partition_for

N = 4


def _sources(partition: int, count: int, prefix: str = "10.9") -> list[str]:
    """count sender addresses whose own partition (of N) is partition."""
    found = (f"{prefix}.{a}.{b}" for a, b in itertools.product(range(256), range(1, 255)))
    return list(itertools.islice((s for s in found if partition_for(s, N) == partition), count))


def test_one_sender_at_ten_times_the_others_is_heavy() -> None:
    counts = {"flood": 5000, **{f"s{i}": 500 for i in range(9)}}
    assert heavy_senders(counts, (), N) == {"flood"}


def test_equal_senders_a_lone_sender_and_one_partition_have_no_heavy_sender() -> None:
    assert heavy_senders({f"s{i}": 1000 for i in range(10)}, (), N) == frozenset()
    assert heavy_senders({"alone": 10_000}, (), N) == frozenset()
    assert heavy_senders({"flood": 9000, "other": 10}, (), 1) == frozenset()


def test_a_sender_ten_times_the_median_among_many_is_no_flood_of_a_partition() -> None:
    """100 senders, one at 10x: its partition carries 35 shares against 25: not a flood, nobody moves."""
    counts = {"big": 1000, **{f"s{i}": 100 for i in range(99)}}
    assert heavy_senders(counts, (), N) == frozenset()


def test_a_heavy_sender_is_released_only_at_half_the_bar() -> None:
    marginal = {"flood": 1500, **{f"s{i}": 500 for i in range(9)}}  # under 4x the median: not heavy when new
    assert heavy_senders(marginal, (), N) == frozenset()
    assert heavy_senders(marginal, {"flood"}, N) == {"flood"}
    calm = {"flood": 900, **{f"s{i}": 500 for i in range(9)}}
    assert heavy_senders(calm, {"flood"}, N) == frozenset()
    assert heavy_senders({"flood": 10_000}, {"flood"}, N) == {"flood"}, "with nobody to compare, nothing changes"


def test_heavy_senders_hold_at_most_half_the_partitions_heaviest_first() -> None:
    floods = [_sources(p, 1, "10.7")[0] for p in range(3)]
    counts = {floods[0]: 9000, floods[1]: 8000, floods[2]: 7000, **{f"s{i}": 100 for i in range(20)}}
    assert heavy_senders(counts, (), N) == {floods[0], floods[1]}
    two = _sources(1, 2, "10.6")
    both = {two[0]: 9000, two[1]: 8000, floods[2]: 7000, **{f"s{i}": 100 for i in range(20)}}
    assert heavy_senders(both, (), N) == {*two, floods[2]}, "two heavy senders of one partition share it"


def test_the_others_of_a_heavy_senders_partition_are_placed_elsewhere_the_rest_stay() -> None:
    flood = _sources(2, 1, "10.8")[0]
    held = flood_partitions({flood}, N)
    assert held == {2}
    assert place(flood, N, held, frozenset({flood})) == 2
    for source in _sources(2, 50):
        assert place(source, N, held, frozenset({flood})) in {0, 1, 3}
    for p in (0, 1, 3):
        assert all(place(s, N, held, frozenset({flood})) == p for s in _sources(p, 20))
    moved = {place(s, N, held, frozenset({flood})) for s in _sources(2, 50)}
    assert moved == {0, 1, 3}, "spread over the free partitions"


def test_through_the_batcher_a_flood_keeps_its_partition_and_nobody_waits_behind_it() -> None:
    """One sender at 10x three others, one of which shares its partition: after the first window, that one's
    lines go to another partition, each in order; the flood's lines all stay in theirs. Nothing is lost."""
    flood, neighbour = _sources(1, 2)
    others = [neighbour, _sources(0, 1)[0], _sources(3, 1)[0]]
    share = SenderShare(N, window=1000)
    batcher = Batcher("udp", N, batch_lines=50, batch_ms=100, share=share)
    records = []
    sent: dict[str, int] = dict.fromkeys([flood, *others], 0)
    for _ in range(100):
        for source, n in ((flood, 100), *((o, 10) for o in others)):
            lines = [b"%s %d" % (source.encode(), sent[source] + i) for i in range(n)]
            sent[source] += n
            records += batcher.add(source, [0] * n, lines, now=0.0)
    records += batcher.drain()
    placed: dict[str, list[tuple[int, int]]] = {s: [] for s in sent}
    for partition, batch in records:
        for source, line in zip(batch.sources, batch.lines, strict=True):
            placed[source].append((partition, int(line.split()[1])))
    assert {s: len(v) for s, v in placed.items()} == sent
    assert {p for p, _ in placed[flood]} == {1}
    in_flood_partition = [n for p, n in placed[neighbour] if p == 1]
    assert max(in_flood_partition) < 100, "only lines of the first window (before the flood was seen) wait there"
    assert batcher.moved == sent[neighbour] - len(in_flood_partition)
    for source in others[1:]:
        assert {p for p, _ in placed[source]} == {partition_for(source, N)}
    for source, where in placed.items():
        for partition in range(N):
            seq = [n for p, n in where if p == partition]
            assert seq == sorted(seq), (source, partition)
    assert share.heavy == {flood}
