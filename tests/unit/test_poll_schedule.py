"""The poll schedule as a pure projection of inventory events: slots, jitter, upserts and deletes."""

from __future__ import annotations

import hashlib

import pytest

from ingest.pollers.schedule import Schedule, first_slot, offset, phase, slot_after
from schemas.inventory import InventoryEvent, Node, Polling

T0 = 1_700_000_000.0
"""A wall-clock time on an interval boundary of 10 s and 60 s."""


def node_event(node_id: str, ip: str = "127.0.0.1", op: str = "upsert") -> InventoryEvent:
    body = Node(id=node_id, name=f"name-{node_id}", ip=ip) if op == "upsert" else None
    return InventoryEvent(kind="node", op=op, id=node_id, time_ns=0, actor="test", node=body)  # type: ignore[arg-type]


def polling_event(polling_id: str, node_id: str = "n1", op: str = "upsert", **fields) -> InventoryEvent:
    body = Polling(id=polling_id, node_id=node_id, name=polling_id, kind="ping", **fields) if op == "upsert" else None
    return InventoryEvent(kind="polling", op=op, id=polling_id, time_ns=0, actor="test", polling=body)  # type: ignore[arg-type]


def schedule_of(*events: InventoryEvent, jitter: float = 0.1, now: float = T0) -> Schedule:
    schedule = Schedule(jitter)
    for event in events:
        schedule.apply(event, now)
    return schedule


def test_phase_is_deterministic_and_not_python_hash():
    assert phase("polling-1") == phase("polling-1")
    assert phase("polling-1") != phase("polling-2")
    assert 0 <= phase("x") < 1
    # a fixed value: the same in every process and after every restart (blake2b, not the salted hash())
    expected = int.from_bytes(hashlib.blake2b(b"polling-1", digest_size=8).digest(), "big") / 2**64
    assert phase("polling-1") == expected


def test_offsets_spread_evenly_over_the_jitter_share_of_the_interval():
    offsets = [offset(f"p{i}", 60, 0.1) for i in range(10_000)]
    assert all(0 <= o < 6.0 for o in offsets)
    deciles = [0] * 10
    for o in offsets:
        deciles[int(o / 0.6)] += 1
    assert all(900 < n < 1100 for n in deciles), deciles
    assert offset("p1", 60, 0.0) == 0.0


def test_slots():
    assert first_slot(T0, 10, 0) == T0
    assert first_slot(T0 + 0.001, 10, 0) == T0 + 10
    assert first_slot(T0, 10, 2.5) == T0 + 2.5
    assert slot_after(T0, 10, 0) == T0 + 10
    assert slot_after(T0 + 2.5, 10, 2.5) == T0 + 12.5
    assert slot_after(T0 + 2.4, 10, 2.5) == T0 + 2.5


def test_new_polling_is_due_at_its_first_slot_and_every_interval_after():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=10))
    due = schedule.due_of("p1")
    assert due == first_slot(T0, 10, offset("p1", 10, 0.1))
    assert schedule.take_due(due - 0.001) == ([], [])
    runs, orphans = schedule.take_due(due)
    assert [(r.polling.id, r.node.id, r.due) for r in runs] == [("p1", "n1", due)] and orphans == []
    assert schedule.due_of("p1") == due + 10
    assert schedule.take_due(due + 9.9) == ([], [])
    assert [r.due for r in schedule.take_due(due + 10)[0]] == [due + 10]


def test_restart_gives_the_same_slots():
    events = [node_event("n1"), *(polling_event(f"p{i}", interval_s=60) for i in range(50))]
    first = schedule_of(*events, now=T0 + 7)
    later = schedule_of(*events, now=T0 + 60 * 1000 + 7)
    for i in range(50):
        assert later.due_of(f"p{i}") - first.due_of(f"p{i}") == pytest.approx(60 * 1000)


def test_all_due_runs_come_out_in_one_take_in_due_order():
    events = [node_event("n1"), *(polling_event(f"p{i}", interval_s=10) for i in range(100))]
    schedule = schedule_of(*events)
    runs, _ = schedule.take_due(T0 + 1.0)
    assert len(runs) == 100
    assert [r.due for r in runs] == sorted(r.due for r in runs)
    assert all(T0 <= r.due < T0 + 1.0 for r in runs)
    assert schedule.next_due() == min(schedule.due_of(f"p{i}") for i in range(100))
    assert schedule.next_due() >= T0 + 10


def test_missed_slots_are_not_made_up():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=10), jitter=0)
    runs, _ = schedule.take_due(T0 + 35)
    assert [r.due for r in runs] == [T0], "one run, for the oldest missed slot (shows how late it is)"
    assert schedule.due_of("p1") == T0 + 40


def test_node_changes_reach_the_next_run():
    schedule = schedule_of(node_event("n1", ip="127.0.0.1"), polling_event("p1", interval_s=10), jitter=0)
    schedule.apply(node_event("n1", ip="127.0.0.2"), T0 + 1)
    runs, _ = schedule.take_due(T0 + 1)
    assert runs[0].node.ip == "127.0.0.2"


def test_polling_without_node_is_orphaned_until_the_node_arrives():
    schedule = schedule_of(polling_event("p1", node_id="later", interval_s=10), jitter=0)
    runs, orphans = schedule.take_due(T0)
    assert runs == [] and [p.id for p in orphans] == ["p1"]
    schedule.apply(node_event("later"), T0 + 1)
    runs, orphans = schedule.take_due(T0 + 10)
    assert [r.node.id for r in runs] == ["later"] and orphans == []


def test_delete_removes_polling_and_its_pending_slot():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=10), polling_event("p2", interval_s=10))
    schedule.apply(polling_event("p1", op="delete"), T0)
    assert len(schedule) == 1 and schedule.due_of("p1") is None
    runs, _ = schedule.take_due(T0 + 100)
    assert [r.polling.id for r in runs] == ["p2"]
    schedule.apply(node_event("n1", op="delete"), T0 + 100)
    runs, orphans = schedule.take_due(T0 + 200)
    assert runs == [] and [p.id for p in orphans] == ["p2"]


def test_delete_then_readd_runs_once_per_slot():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=10), jitter=0)
    schedule.apply(polling_event("p1", op="delete"), T0)
    schedule.apply(polling_event("p1", interval_s=10), T0)
    runs, _ = schedule.take_due(T0 + 5)
    assert [r.polling.id for r in runs] == ["p1"]


def test_upsert_keeps_the_slot_unless_the_interval_changes():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=60))
    due = schedule.due_of("p1")
    schedule.apply(polling_event("p1", interval_s=60, params={"count": "5"}), T0 + 30)
    assert schedule.due_of("p1") == due
    assert schedule.take_due(due)[0][0].polling.params == {"count": "5"}, "the run uses the newest definition"
    schedule.apply(polling_event("p1", interval_s=10), due + 1)
    assert schedule.due_of("p1") == first_slot(due + 1, 10, offset("p1", 10, 0.1))
    assert len(schedule.take_due(due + 100)[0]) == 1, "the old slot no longer runs"


def test_zero_interval_is_taken_as_one_second():
    schedule = schedule_of(node_event("n1"), polling_event("p1", interval_s=0), jitter=0)
    assert schedule.take_due(T0)[0]
    assert schedule.due_of("p1") == T0 + 1


def test_networks_are_ignored():
    schedule = Schedule(0.1)
    schedule.apply(InventoryEvent(kind="network", op="delete", id="net1", time_ns=0, actor="t"), T0)
    assert len(schedule) == 0 and schedule.next_due() is None
