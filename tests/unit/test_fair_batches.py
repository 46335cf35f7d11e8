"""Hardening issue, finding 9 on a single node: one worker holds every partition, and a flood's records sat ahead
of every other partition's in the agent's one queue. FairBuffer holds a queue per partition and a batch takes at
most a share of each; next_share sizes a share to about one window of work."""

from __future__ import annotations

from processors.fair_batches import MIN_SHARE, FairBuffer, next_share

KIB = 1024


def _flood_and_neighbour(flood: int, neighbour: int, size: int = 100 * KIB) -> FairBuffer[str]:
    held: FairBuffer[str] = FairBuffer(hold_records=1000, hold_bytes=1000 * size)
    for i in range(flood):
        held.put(1, f"flood{i}", size)
    for i in range(neighbour):
        held.put(0, f"n{i}", 1 * KIB)
    return held


def test_a_neighbour_arriving_after_a_flood_backlog_is_in_the_next_batch_with_one_share_of_the_flood() -> None:
    held = _flood_and_neighbour(flood=100, neighbour=3)
    batch = held.take(max_records=200, share=500 * KIB, max_bytes=16 * 1024 * KIB)
    assert [x for x in batch if x.startswith("n")] == ["n0", "n1", "n2"]
    flood = [x for x in batch if x.startswith("flood")]
    assert flood == [f"flood{i}" for i in range(5)], "one share of the flood, in order; the neighbour's rest unused"
    assert held.records == 95 and held.size == 95 * 100 * KIB


def test_each_busy_partition_gets_a_share_within_the_batch_bytes() -> None:
    held: FairBuffer[tuple[int, int]] = FairBuffer(hold_records=1000, hold_bytes=10**9)
    for partition in range(4):
        for i in range(50):
            held.put(partition, (partition, i), 10 * KIB)
    batch = held.take(max_records=1000, share=100 * KIB, max_bytes=10**9)
    assert {p: sum(1 for q, _ in batch if q == p) for p in range(4)} == dict.fromkeys(range(4), 10)
    batch = held.take(max_records=1000, share=10**9, max_bytes=200 * KIB)
    assert {p: sum(1 for q, _ in batch if q == p) for p in range(4)} == dict.fromkeys(range(4), 5)


def test_a_record_bigger_than_a_share_still_goes_and_every_partition_gets_one() -> None:
    held: FairBuffer[str] = FairBuffer(hold_records=10, hold_bytes=10**9)
    held.put(0, "big", 5000 * KIB)
    held.put(1, "small", 1 * KIB)
    assert sorted(held.take(max_records=10, share=100 * KIB, max_bytes=10**9)) == ["big", "small"]
    assert held.records == 0 and held.size == 0


def test_the_record_cap_rotates_which_partition_is_served_first() -> None:
    held: FairBuffer[int] = FairBuffer(hold_records=100, hold_bytes=10**9)
    for partition in range(3):
        for _ in range(10):
            held.put(partition, partition, 1)
    firsts = [held.take(max_records=1, share=10**6, max_bytes=10**6) for _ in range(3)]
    assert sorted(x for [x] in firsts) == [0, 1, 2]


def test_a_partition_is_full_at_its_bound_and_fetched_again_under_half_of_it() -> None:
    held: FairBuffer[int] = FairBuffer(hold_records=4, hold_bytes=100 * KIB)
    assert not held.put(2, 0, 40 * KIB)
    assert not held.put(2, 1, 40 * KIB)
    assert held.put(2, 2, 40 * KIB), "120 KiB held: at the byte bound"
    assert not held.below_half(2)
    held.take(max_records=2, share=10**6, max_bytes=10**6)
    assert held.below_half(2), "40 KiB and one record left"
    for i in range(4):
        full = held.put(3, i, 1)
    assert full, "four records: at the record bound"


def test_a_revoked_partition_is_forgotten() -> None:
    held = _flood_and_neighbour(flood=5, neighbour=2)
    assert held.drop({1, 7}) == 5
    assert held.take(max_records=10, share=10**6, max_bytes=10**6) == ["n0", "n1"]
    assert held.take(max_records=10, share=10**6, max_bytes=10**6) == []


def test_a_share_is_one_window_at_the_last_batch_pace_within_bounds() -> None:
    assert next_share(4_000_000, 1.0, 0.5, 16 * 1024 * KIB) == 2_000_000
    assert next_share(4_000_000, 100.0, 0.5, 16 * 1024 * KIB) == MIN_SHARE, "a slow insert (retries) floors it"
    assert next_share(10**9, 0.1, 0.5, 16 * 1024 * KIB) == 16 * 1024 * KIB
    assert next_share(0, 0.0, 0.5, 4096 * KIB) == 4096 * KIB
