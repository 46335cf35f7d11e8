"""Polling and node states from poll results, as TWSNMP FK keeps them, and the events their changes write.

Rules (TWSNMP FK's setPollingState and updateNodeState, with the differences marked):

- A polling starts unknown. Its raw state per result comes from processors.monitoring.thresholds.evaluate.
- A raw unknown makes it unknown; a raw failure (high, low, warn) makes it that state.
- A raw normal after a failure state (high, low and warn alike: TWSNMP sends warn through repair too)
  makes it repair; after unknown or normal it makes it normal (so a polling that failed, then could
  not be polled, comes back straight to normal, as in TWSNMP).
- Difference: in TWSNMP repair stays until an operator acknowledges it (or the node auto-acknowledges,
  or TWSNMP restarts); netobs has no acknowledgement, so the next normal result moves repair to normal.
  The repair state still marks "it failed and has just come back" for one poll interval.
- Every change writes a polling event: Type polling, Level new state, LastLevel old state,
  "Change polling state:<polling name>(<kind>)". unknown -> normal on a polling's first good result
  writes one too, as TWSNMP does.
- downtime_s is carried once per failure, by the event that ends it (failure -> repair, or, via
  unknown, -> normal): the seconds from the first failing result to the first good one. An unknown in
  between does not end the failure (it says nothing of the target). Summing downtime_s over events
  therefore gives the time spent failing, without counting an outage twice.
- A node's state is the worst of its pollings' (high > low > warn > repair > normal > unknown); no
  pollings means unknown. Difference: TWSNMP recomputes it silently; netobs writes a node event
  ("Change node state:<node name>", same fields) when it changes, with downtime by the same rule.

Determinism: results are applied in arrival (topic) order, even one whose time_ns is older than the
polling's last result (its since/failure times then come from that older result; downtime is never
negative); all times in the state come from results, and event ids are hashes of the polling id, the
result's time (a poll's start, distinct per polling) and the kind of event. Replaying a topic from the
same snapshot gives the same events with the same ids, so the event_log insert can drop what it already
stored; a result delivered twice changes nothing the second time. A result that names another node
than the polling's last one moves the polling: both nodes are recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b

import msgspec

from processors.monitoring.thresholds import FAILURES, SEVERITY, evaluate
from schemas.events import Event
from schemas.polls import PollResult

__all__ = ["NodeState", "PollingState", "StateMachine", "event_id", "next_state"]

_FORMAT = "netobs-state"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class PollingState:
    """Where one polling stands, for the pollings projection."""

    node_id: str
    name: str
    """The polling's name in its latest result."""
    state: str
    since_ns: int
    """Time of the result that brought the current state (of the first result when it never changed)."""
    last_result_ns: int
    last_reason: str
    """Why the latest result gave its raw state, e.g. "rtt_ms 512.3 > 500", "timeout", "ok"."""
    failure_started_ns: int
    """Time of the first failing result of the current failure; 0 when not failing."""


@dataclass(frozen=True, slots=True)
class NodeState:
    """Where one node stands: the worst of its pollings."""

    node_name: str
    state: str
    since_ns: int
    last_result_ns: int
    last_reason: str
    """"<polling name>: <reason>" of the worst polling (the first by id among equals)."""
    failure_started_ns: int


class _Snapshot(msgspec.Struct):
    format: str
    version: int
    pollings: dict[str, PollingState]
    nodes: dict[str, NodeState]


def next_state(old: str, raw: str) -> str:
    """The polling state after a result whose raw state is raw (see the module's rules)."""
    if raw != "normal":
        return raw
    return "repair" if old in FAILURES else "normal"


def event_id(polling_id: str, time_ns: int, kind: str) -> str:
    """Stable id of an event caused by polling_id's result (or removal) at time_ns."""
    key = f"{polling_id}\x1f{time_ns}\x1f{kind}".encode("utf-8", "surrogatepass")
    return blake2b(key, digest_size=16).hexdigest()


class StateMachine:
    """The states of the pollings and nodes of one poll-topic partition (partitioned by node id)."""

    def __init__(self) -> None:
        self._pollings: dict[str, PollingState] = {}
        self._nodes: dict[str, NodeState] = {}
        self._members: dict[str, set[str]] = {}

    def apply(self, result: PollResult) -> list[Event]:
        """Take one result; returns the polling event and node event(s) it causes, in that order."""
        raw, reason = evaluate(result)
        pid, t = result.polling_id, result.time_ns
        prev = self._pollings.get(pid)
        old = prev.state if prev else "unknown"
        old_start = prev.failure_started_ns if prev else 0
        new = next_state(old, raw)
        events = []
        if new != old:
            events.append(
                Event(
                    id=event_id(pid, t, "polling"),
                    time_ns=t,
                    type="polling",
                    level=new,
                    last_level=old,
                    node_id=result.node_id,
                    node_name=result.node_name,
                    event=f"Change polling state:{result.polling_name}({result.kind})",
                    downtime_s=_downtime(old_start, new, t),
                    polling_id=pid,
                )
            )
        self._pollings[pid] = PollingState(
            node_id=result.node_id,
            name=result.polling_name,
            state=new,
            since_ns=prev.since_ns if prev and new == old else t,
            last_result_ns=t,
            last_reason=reason,
            failure_started_ns=_failure_start(old_start, new, t),
        )
        if prev and prev.node_id != result.node_id:
            old_node = prev.node_id
            self._members[old_node].discard(pid)
            eid = event_id(pid, t, f"node:{old_node}")
            events += self._refresh_node(old_node, "", eid, t, self._nodes[old_node].last_result_ns)
        self._members.setdefault(result.node_id, set()).add(pid)
        eid = event_id(pid, t, f"node:{result.node_id}")
        events += self._refresh_node(result.node_id, result.node_name, eid, t, t)
        return events

    def remove_polling(self, polling_id: str, time_ns: int) -> list[Event]:
        """Forget a deleted polling; returns a node event if its node's state changes without it.

        time_ns is the deletion's time (the inventory event's), which the node event carries. A node left
        without pollings stays known, in state unknown, until remove_node.
        """
        prev = self._pollings.pop(polling_id, None)
        if prev is None:
            return []
        self._members[prev.node_id].discard(polling_id)
        eid = event_id(polling_id, time_ns, f"removal:{prev.node_id}")
        return self._refresh_node(prev.node_id, "", eid, time_ns, self._nodes[prev.node_id].last_result_ns)

    def remove_node(self, node_id: str) -> None:
        """Forget a deleted node and its pollings; no event (the inventory delete is the record)."""
        for pid in self._members.pop(node_id, ()):
            del self._pollings[pid]
        self._nodes.pop(node_id, None)

    def polling_states(self) -> dict[str, PollingState]:
        """Every polling seen, by polling id (a copy)."""
        return dict(self._pollings)

    def node_states(self) -> dict[str, NodeState]:
        """Every node seen, by node id (a copy)."""
        return dict(self._nodes)

    def snapshot(self) -> bytes:
        """The whole state, so it can follow its partition to another worker (msgpack, versioned)."""
        return msgspec.msgpack.encode(_Snapshot(_FORMAT, _VERSION, self._pollings, self._nodes))

    @classmethod
    def restore(cls, blob: bytes) -> StateMachine:
        """A machine in exactly the state snapshot() saved; ValueError on anything else."""
        try:
            snap = msgspec.msgpack.decode(blob, type=_Snapshot)
        except msgspec.MsgspecError as exc:
            raise ValueError(f"not a state machine snapshot: {exc}") from None
        if snap.format != _FORMAT or snap.version != _VERSION:
            raise ValueError(f"state snapshot {snap.format!r} v{snap.version}; this netobs reads v{_VERSION}")
        machine = cls()
        machine._pollings = snap.pollings
        machine._nodes = snap.nodes
        for pid, polling in snap.pollings.items():
            machine._members.setdefault(polling.node_id, set()).add(pid)
        for node_id in snap.nodes:
            machine._members.setdefault(node_id, set())
        return machine

    def _refresh_node(self, node_id: str, node_name: str, eid: str, time_ns: int, last_ns: int) -> list[Event]:
        """Recompute a node's state after one of its pollings changed; the node event (id eid) if it changed."""
        prev = self._nodes.get(node_id)
        old = prev.state if prev else "unknown"
        old_start = prev.failure_started_ns if prev else 0
        name = node_name or (prev.node_name if prev else "")
        new, reason = self._worst(sorted(self._members[node_id]))
        events = []
        if new != old:
            events.append(
                Event(
                    id=eid,
                    time_ns=time_ns,
                    type="node",
                    level=new,
                    last_level=old,
                    node_id=node_id,
                    node_name=name,
                    event=f"Change node state:{name}",
                    downtime_s=_downtime(old_start, new, time_ns),
                )
            )
        self._nodes[node_id] = NodeState(
            node_name=name,
            state=new,
            since_ns=prev.since_ns if prev and new == old else time_ns,
            last_result_ns=last_ns,
            last_reason=reason,
            failure_started_ns=_failure_start(old_start, new, time_ns),
        )
        return events

    def _worst(self, polling_ids: Iterable[str]) -> tuple[str, str]:
        state, reason, rank = "unknown", "", -1
        for pid in polling_ids:
            polling = self._pollings[pid]
            if SEVERITY[polling.state] > rank:
                rank = SEVERITY[polling.state]
                state, reason = polling.state, f"{polling.name}: {polling.last_reason}"
        return state, reason


def _failure_start(old_start: int, new: str, time_ns: int) -> int:
    """A failure starts at its first failing result, survives unknown, and ends at repair or normal."""
    if new in FAILURES:
        return old_start or time_ns
    return old_start if new == "unknown" else 0


def _downtime(old_start: int, new: str, time_ns: int) -> float:
    """Seconds failing, for the event that ends a failure; 0 for every other (never negative)."""
    if not old_start or new not in ("repair", "normal"):
        return 0.0
    return max(0, time_ns - old_start) / 1e9
