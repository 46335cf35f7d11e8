"""What the executor knows of past commands: a fold of the steps topic. Pure.

The steps topic is the executor's only memory. Folding it at start tells a redelivered command from a new
one (exactly-once effect), which commands wait for approval, and how many commands each actor has had
accepted lately (rate limits that survive a restart).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from executor.policy import RATE_WINDOW_NS
from schemas.commands import Step

ACCEPTED = frozenset({"executing", "pending_approval"})


@dataclass
class Book:
    last: dict[str, str] = field(default_factory=dict)
    """Command id -> its latest step."""
    requester: dict[str, str] = field(default_factory=dict)
    tool: dict[str, str] = field(default_factory=dict)
    requested_ns: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, list[int]] = field(default_factory=dict)
    """Actor -> request times of its accepted commands, the last minute's worth kept."""
    decided_by: dict[str, str] = field(default_factory=dict)
    """Command id -> the id of the approve/reject command that decided it."""
    refused: set[str] = field(default_factory=set)
    """Ids of refused records (steps "refused"): they say nothing of the command whose id they may carry."""
    _pending: dict[str, int] = field(default_factory=dict)
    _counted: set[str] = field(default_factory=set)

    def record(self, step: Step) -> None:
        """Take one step in, in topic order."""
        cid = step.command_id
        if step.step == "refused":
            self.refused.add(cid)
            return
        self.last[cid] = step.step
        if step.step == "pending_approval":
            self._pending[cid] = self.requested_ns.get(cid, step.time_ns)
        else:
            self._pending.pop(cid, None)
        if step.step in ("approved", "rejected"):
            self.decided_by[cid] = decision_of(step)
        if step.step == "requested":
            self.requester[cid] = step.actor
            self.tool[cid] = step.tool
            self.requested_ns[cid] = step.time_ns
        elif step.step in ACCEPTED and cid not in self._counted and cid in self.requester:
            self._counted.add(cid)
            actor = self.requester[cid]
            times = self.accepted.setdefault(actor, [])
            times.append(self.requested_ns[cid])
            cutoff = max(times) - RATE_WINDOW_NS
            self.accepted[actor] = [t for t in times if t > cutoff]

    def times_of(self, actor: str) -> list[int]:
        return self.accepted.get(actor, [])

    def pending(self) -> dict[str, int]:
        """Commands waiting for approval -> their request time."""
        return dict(self._pending)


def decision_of(step: Step) -> str:
    """The approve/reject command named in an approved or rejected step's result."""
    try:
        return str(json.loads(step.result).get("decision_id", ""))
    except (ValueError, AttributeError):
        return ""


def fold(steps: Iterable[Step]) -> Book:
    book = Book()
    for step in steps:
        book.record(step)
    return book
