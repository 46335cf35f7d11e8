"""Hardening issue, finding 13: one insert never gathers more than worker.batch_bytes of raw records (a batch
of 200 records of 5,000 lines held a million lines' rows in the worker at once)."""

from processors.projector import cut_by_bytes


def _records(sizes: list[int]) -> list[tuple[int, int, int, bytes]]:
    return [(0, offset, 0, b"x" * size) for offset, size in enumerate(sizes)]


def test_parts_keep_every_record_in_order_within_the_limit() -> None:
    records = _records([400, 300, 300, 200, 900, 100])
    parts = cut_by_bytes(records, 1000)
    assert [[r[1] for r in part] for part in parts] == [[0, 1, 2], [3], [4, 5]]
    assert [r for part in parts for r in part] == records
    assert all(sum(len(r[3]) for r in part) <= 1000 for part in parts)


def test_a_record_bigger_than_the_limit_goes_alone() -> None:
    parts = cut_by_bytes(_records([10, 5000, 10]), 1000)
    assert [[r[1] for r in part] for part in parts] == [[0], [1], [2]]


def test_nothing_gives_no_parts() -> None:
    assert cut_by_bytes([], 1000) == []
