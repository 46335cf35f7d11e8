"""processors.monitoring.state_machine: TWSNMP FK's polling and node states, events, replay and snapshots."""

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.monitoring.state_machine import NodeState, PollingState, StateMachine, event_id, next_state
from schemas.events import Event
from schemas.inventory import Threshold
from schemas.polls import PollResult

S = 1_000_000_000
T0 = 1_700_000_000 * S
RTT_WARN = Threshold("rtt_ms", ">", 500, "warn")


def result(outcome="ok", t=T0, pid="p1", node="n1", level="high", thresholds=(), values=None, error="", name="PING"):
    return PollResult(
        pid,
        node,
        name,
        f"host-{node}",
        "ping",
        level,
        list(thresholds),
        True,
        t,
        1000,
        outcome,
        values or {},
        {},
        error,
    )


def states(machine, events):
    return [(e.type, e.last_level, e.level) for e in events]


def test_first_good_result_goes_unknown_to_normal_with_events():
    machine = StateMachine()
    events = machine.apply(result(t=T0))
    assert states(machine, events) == [("polling", "unknown", "normal"), ("node", "unknown", "normal")]
    polling, node = events
    assert polling == Event(
        id=event_id("p1", T0, "polling"),
        time_ns=T0,
        type="polling",
        level="normal",
        last_level="unknown",
        node_id="n1",
        node_name="host-n1",
        event="Change polling state:PING(ping)",
        downtime_s=0.0,
        polling_id="p1",
    )
    assert node.event == "Change node state:host-n1"
    assert (node.node_id, node.node_name, node.polling_id, node.downtime_s) == ("n1", "host-n1", "", 0.0)
    assert machine.polling_states()["p1"] == PollingState("n1", "PING", "normal", T0, T0, "ok", 0)
    assert machine.node_states()["n1"] == NodeState("host-n1", "normal", T0, T0, "PING: ok", 0)


def test_first_unknown_result_changes_nothing():
    machine = StateMachine()
    assert machine.apply(result("unknown", error="no credential")) == []
    assert machine.polling_states()["p1"].state == "unknown"
    assert machine.polling_states()["p1"].last_reason == "no credential"
    assert machine.node_states()["n1"].state == "unknown"


def test_failure_passes_through_repair_with_downtime_once():
    machine = StateMachine()
    machine.apply(result(t=T0))
    down = machine.apply(result("fail", t=T0 + 60 * S, error="timeout"))
    assert states(machine, down) == [("polling", "normal", "high"), ("node", "normal", "high")]
    assert [e.downtime_s for e in down] == [0.0, 0.0]
    assert machine.polling_states()["p1"].failure_started_ns == T0 + 60 * S
    assert machine.apply(result("fail", t=T0 + 120 * S, error="timeout")) == []
    assert machine.polling_states()["p1"].since_ns == T0 + 60 * S
    assert machine.polling_states()["p1"].failure_started_ns == T0 + 60 * S
    up = machine.apply(result(t=T0 + 180 * S))
    assert states(machine, up) == [("polling", "high", "repair"), ("node", "high", "repair")]
    assert [e.downtime_s for e in up] == [120.0, 120.0]
    assert machine.polling_states()["p1"].failure_started_ns == 0
    normal = machine.apply(result(t=T0 + 240 * S))
    assert states(machine, normal) == [("polling", "repair", "normal"), ("node", "repair", "normal")]
    assert [e.downtime_s for e in normal] == [0.0, 0.0]
    assert machine.apply(result(t=T0 + 300 * S)) == []


def test_repair_back_to_failure():
    machine = StateMachine()
    for outcome in ("ok", "fail", "ok"):
        machine.apply(result(outcome, t=T0))
    events = machine.apply(result("fail", level="low", t=T0 + S))
    assert states(machine, events) == [("polling", "repair", "low"), ("node", "repair", "low")]


def test_failure_then_unknown_comes_back_straight_to_normal_with_the_whole_downtime():
    machine = StateMachine()
    machine.apply(result(t=T0))
    machine.apply(result("fail", level="low", t=T0 + 10 * S))
    events = machine.apply(result("unknown", t=T0 + 20 * S, error="credential gone"))
    assert states(machine, events) == [("polling", "low", "unknown"), ("node", "low", "unknown")]
    assert events[0].downtime_s == 0.0
    events = machine.apply(result(t=T0 + 50 * S))
    assert states(machine, events) == [("polling", "unknown", "normal"), ("node", "unknown", "normal")]
    assert [e.downtime_s for e in events] == [40.0, 40.0]


def test_warn_threshold_is_a_failure_and_passes_through_repair():
    machine = StateMachine()
    slow = {"rtt_ms": 812.5}
    machine.apply(result(thresholds=[RTT_WARN], values={"rtt_ms": 3.0}, t=T0))
    events = machine.apply(result(thresholds=[RTT_WARN], values=slow, t=T0 + S))
    assert states(machine, events) == [("polling", "normal", "warn"), ("node", "normal", "warn")]
    assert machine.polling_states()["p1"].last_reason == "rtt_ms 812.5 > 500"
    assert machine.node_states()["n1"].last_reason == "PING: rtt_ms 812.5 > 500"
    events = machine.apply(result(thresholds=[RTT_WARN], values={"rtt_ms": 3.0}, t=T0 + 3 * S))
    assert states(machine, events) == [("polling", "warn", "repair"), ("node", "warn", "repair")]
    assert events[0].downtime_s == 2.0
    events = machine.apply(result("fail", t=T0 + 4 * S))
    assert states(machine, events) == [("polling", "repair", "high"), ("node", "repair", "high")]


@pytest.mark.parametrize(
    ("old", "raw", "new"),
    [
        ("unknown", "normal", "normal"),
        ("normal", "normal", "normal"),
        ("high", "normal", "repair"),
        ("low", "normal", "repair"),
        ("warn", "normal", "repair"),
        ("repair", "normal", "normal"),
        ("high", "unknown", "unknown"),
        ("repair", "warn", "warn"),
        ("warn", "high", "high"),
        ("normal", "low", "low"),
    ],
)
def test_next_state(old, raw, new):
    assert next_state(old, raw) == new


def test_node_state_is_the_worst_of_its_pollings():
    machine = StateMachine()
    machine.apply(result(pid="ping", name="PING", t=T0))
    machine.apply(result(pid="tcp", name="ssh", t=T0))
    machine.apply(result(pid="snmp", name="uptime", t=T0, thresholds=[RTT_WARN], values={"rtt_ms": 600.0}))
    assert machine.node_states()["n1"].state == "warn"
    events = machine.apply(result("fail", pid="tcp", name="ssh", level="low", t=T0 + S, error="refused"))
    assert states(machine, events) == [("polling", "normal", "low"), ("node", "warn", "low")]
    assert machine.node_states()["n1"].last_reason == "ssh: refused"
    events = machine.apply(result("fail", pid="ping", name="PING", level="high", t=T0 + 2 * S, error="timeout"))
    assert states(machine, events) == [("polling", "normal", "high"), ("node", "low", "high")]
    events = machine.apply(result(pid="ping", name="PING", t=T0 + 3 * S))
    assert states(machine, events) == [("polling", "high", "repair"), ("node", "high", "low")]
    assert events[1].downtime_s == 0.0
    assert machine.node_states()["n1"].failure_started_ns == T0
    machine.apply(result(pid="tcp", name="ssh", t=T0 + 4 * S))
    machine.apply(result(pid="snmp", name="uptime", t=T0 + 5 * S))
    node = machine.node_states()["n1"]
    assert node.state == "repair"
    assert node.failure_started_ns == 0
    machine.apply(result(pid="ping", name="PING", t=T0 + 6 * S))
    machine.apply(result(pid="tcp", name="ssh", t=T0 + 6 * S))
    assert machine.node_states()["n1"].state == "repair"
    events = machine.apply(result(pid="snmp", name="uptime", t=T0 + 6 * S))
    assert states(machine, events) == [("polling", "repair", "normal"), ("node", "repair", "normal")]


def test_node_downtime_spans_its_whole_failure():
    machine = StateMachine()
    machine.apply(result(pid="a", t=T0))
    machine.apply(result(pid="b", t=T0))
    machine.apply(result("fail", pid="a", level="warn", t=T0 + 10 * S))
    machine.apply(result("fail", pid="b", level="high", t=T0 + 20 * S))
    machine.apply(result(pid="b", t=T0 + 30 * S))
    events = machine.apply(result(pid="a", t=T0 + 40 * S))
    assert states(machine, events) == [("polling", "warn", "repair"), ("node", "warn", "repair")]
    assert [e.downtime_s for e in events] == [30.0, 30.0]


def test_unknown_counts_only_when_nothing_else_is_known():
    machine = StateMachine()
    machine.apply(result("unknown", pid="a", t=T0))
    events = machine.apply(result(pid="b", t=T0))
    assert states(machine, events) == [("polling", "unknown", "normal"), ("node", "unknown", "normal")]
    assert machine.apply(result("unknown", pid="b", t=T0 + S))[1].level == "unknown"


def test_nodes_are_independent():
    machine = StateMachine()
    machine.apply(result(pid="a", node="n1", t=T0))
    machine.apply(result(pid="b", node="n2", t=T0))
    events = machine.apply(result("fail", pid="b", node="n2", t=T0 + S))
    assert [(e.node_id, e.level) for e in events] == [("n2", "high"), ("n2", "high")]
    assert machine.node_states()["n1"].state == "normal"


def test_event_ids_are_deterministic_and_distinct():
    a, b = StateMachine(), StateMachine()
    seq = [result(t=T0), result("fail", t=T0 + S), result(t=T0 + 2 * S), result(t=T0 + 3 * S)]
    events_a = [e for r in seq for e in a.apply(r)]
    events_b = [e for r in seq for e in b.apply(r)]
    assert events_a == events_b
    assert len({e.id for e in events_a}) == len(events_a) == 8
    assert events_a[0].id == event_id("p1", T0, "polling")
    assert events_a[1].id == event_id("p1", T0, "node:n1")


def test_older_results_are_applied_in_arrival_order():
    machine = StateMachine()
    machine.apply(result(t=T0 + 10 * S))
    events = machine.apply(result("fail", t=T0 + 5 * S))
    assert states(machine, events) == [("polling", "normal", "high"), ("node", "normal", "high")]
    assert machine.polling_states()["p1"].last_result_ns == T0 + 5 * S
    events = machine.apply(result(t=T0 + 1 * S))
    assert events[0].level == "repair"
    assert events[0].downtime_s == 0.0


def test_remove_polling_recomputes_the_node_with_an_event():
    machine = StateMachine()
    machine.apply(result(pid="a", t=T0))
    machine.apply(result("fail", pid="b", t=T0 + S))
    events = machine.remove_polling("b", T0 + 9 * S)
    assert states(machine, events) == [("node", "high", "normal")]
    assert events[0].id == event_id("b", T0 + 9 * S, "removal:n1")
    assert events[0].time_ns == T0 + 9 * S
    assert events[0].downtime_s == 8.0
    assert "b" not in machine.polling_states()
    assert machine.node_states()["n1"].last_result_ns == T0 + S
    assert machine.remove_polling("b", T0 + 10 * S) == []
    events = machine.remove_polling("a", T0 + 11 * S)
    assert states(machine, events) == [("node", "normal", "unknown")]


def test_remove_node_forgets_it_and_its_pollings_silently():
    machine = StateMachine()
    machine.apply(result(pid="a", t=T0))
    machine.apply(result(pid="b", t=T0))
    machine.apply(result(pid="c", node="n2", t=T0))
    assert machine.remove_node("n1") is None
    assert set(machine.polling_states()) == {"c"}
    assert set(machine.node_states()) == {"n2"}
    assert machine.remove_polling("a", T0) == []
    events = machine.apply(result(pid="a", t=T0 + S))
    assert states(machine, events) == [("polling", "unknown", "normal"), ("node", "unknown", "normal")]


def test_a_polling_moved_to_another_node_leaves_the_old_one():
    machine = StateMachine()
    machine.apply(result("fail", pid="a", node="n1", t=T0))
    events = machine.apply(result("fail", pid="a", node="n2", t=T0 + S))
    assert [(e.type, e.node_id, e.last_level, e.level) for e in events] == [
        ("node", "n1", "high", "unknown"),
        ("node", "n2", "unknown", "high"),
    ]
    assert len({e.id for e in events}) == 2


def test_restore_rejects_what_is_not_a_snapshot():
    with pytest.raises(ValueError, match="not a state machine snapshot"):
        StateMachine.restore(b"\x93garbage")
    with pytest.raises(ValueError, match="v1"):
        StateMachine.restore(
            msgspec.msgpack.encode({"format": "netobs-state", "version": 99, "pollings": {}, "nodes": {}})
        )


# Random histories: a few pollings over two nodes (one of them sometimes moves), every outcome, values
# around two thresholds, times that jump back and forth (each step's time is still unique: a polling's
# results have distinct start times), and removals mixed in.
POLLINGS = {"a": "n1", "b": "n1", "c": "n2", "d": "n2"}
step = st.one_of(
    st.tuples(
        st.just("result"),
        st.sampled_from(sorted(POLLINGS)),
        st.sampled_from(["ok", "ok", "fail", "unknown"]),
        st.sampled_from(["high", "low", "warn"]),
        st.one_of(st.none(), st.floats(0, 1000)),
        st.integers(0, 100),
        st.booleans(),
    ),
    st.tuples(st.just("remove_polling"), st.sampled_from(sorted(POLLINGS)), st.integers(0, 100)),
    st.tuples(st.just("remove_node"), st.sampled_from(["n1", "n2"])),
)
THRESHOLDS = [RTT_WARN, Threshold("rtt_ms", ">", 900, "fail")]


def run(machine, steps, first_index=0):
    events = []
    for i, s in enumerate(steps, first_index):
        if s[0] == "result":
            _, pid, outcome, level, rtt, offset, moved = s
            node = "n3" if moved and pid == "d" else POLLINGS[pid]
            values = {} if rtt is None else {"rtt_ms": rtt}
            t = T0 + offset * S + i
            events += machine.apply(result(outcome, t, pid, node, level, THRESHOLDS, values, "e", name=pid.upper()))
        elif s[0] == "remove_polling":
            events += machine.remove_polling(s[1], T0 + s[2] * S + i)
        else:
            machine.remove_node(s[1])
    return events


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40), st.lists(step, max_size=40))
def test_snapshot_restore_then_apply_equals_applying_straight_through(first, rest):
    straight = StateMachine()
    events_1 = run(straight, first)
    events_2 = run(straight, rest, len(first))

    head = StateMachine()
    head_events = run(head, first)
    resumed = StateMachine.restore(head.snapshot())
    assert resumed.polling_states() == head.polling_states()
    assert resumed.node_states() == head.node_states()
    tail_events = run(resumed, rest, len(first))

    assert head_events == events_1
    assert tail_events == events_2
    assert resumed.polling_states() == straight.polling_states()
    assert resumed.node_states() == straight.node_states()
    assert resumed.snapshot() == straight.snapshot()


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=60))
def test_replay_gives_identical_events_and_every_node_is_worst_of_its_pollings(steps):
    events = run(StateMachine(), steps)
    machine = StateMachine()
    assert run(machine, steps) == events
    assert len({e.id for e in events}) == len(events)
    rank = {"unknown": 0, "normal": 1, "repair": 2, "warn": 3, "low": 4, "high": 5}
    pollings = machine.polling_states()
    for node_id, node in machine.node_states().items():
        mine = [p.state for p in pollings.values() if p.node_id == node_id]
        assert node.state == max(mine, key=rank.__getitem__, default="unknown")
    for e in events:
        assert e.last_level != e.level
        assert e.downtime_s >= 0
        assert e.downtime_s == 0 or e.level in ("repair", "normal")
