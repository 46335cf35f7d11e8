"""What the node does about a process's resident memory, decided from samples alone (no /proc, no signals).

Each watched process has a kind (node, parse, broker, ingest, traps, poller, executor) with a ceiling. Past the
soft mark (soft_fraction of the ceiling) a kind that can shed is told to: it takes no more work into memory, so
a backlog waits in the broker. Shedding ends when the process is back under the resume mark, or after
shed_seconds below its ceiling (memory that stays without new work is not a backlog: shedding longer would only
stall intake; it is not tried again until the process has been under the resume mark). Past the ceiling a kind
that can be restarted is, at most once per shed_seconds (a new process needs time to start and do some work);
the node itself and the broker are reported, not restarted. Every change is an action, so the edge logs and
counts each once.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass

from netobs.config import Config


class Act(enum.Enum):
    SHED = "shed"
    """Past the soft mark: take no more into memory."""
    RESUME = "resume"
    """Back under the resume mark: take work again."""
    GIVE_UP = "give_up"
    """Shed for shed_seconds and still above the resume mark: take work again (the memory is not a backlog)."""
    OVER = "over"
    """Crossed its ceiling (told once per crossing)."""
    RESTART = "restart"
    """Past its ceiling: replace the process (the broker keeps what it had not acknowledged)."""


@dataclass(frozen=True)
class Kind:
    """A kind of process and what may be done to it."""

    name: str
    ceiling: int
    sheds: bool
    restarts: bool


@dataclass(frozen=True)
class Marks:
    """The ceiling and the marks derived from it."""

    ceiling: int
    soft: int
    resume: int


@dataclass(frozen=True)
class State:
    """What the policy remembers of a watched process between samples."""

    shedding_since: float | None = None
    """When shedding began, or the last sample over the ceiling while shedding; None: not shedding."""
    spent: bool = False
    """Shed once without getting under the resume mark: no shedding again until it does."""
    over: bool = False
    restarted_at: float | None = None


def marks(ceiling: int, soft_fraction: float) -> Marks:
    """The soft mark at soft_fraction of the ceiling; the resume mark 5 % below it, so a process hovering at the
    soft mark does not flap between shedding and not."""
    soft = int(ceiling * soft_fraction)
    return Marks(ceiling, soft, int(soft * 0.95))


def decide(
    rss: int, kind: Kind, m: Marks, state: State, now: float, shed_seconds: float
) -> tuple[State, tuple[Act, ...]]:
    """The new state of a process that was sampled at rss bytes, and what to do about it."""
    acts: list[Act] = []
    over = rss >= m.ceiling
    if over and not state.over:
        acts.append(Act.OVER)
    if over and kind.restarts and (state.restarted_at is None or now - state.restarted_at >= shed_seconds):
        return State(restarted_at=now), (*acts, Act.RESTART)
    shedding_since, spent = state.shedding_since, state.spent
    if rss < m.resume:
        if shedding_since is not None:
            acts.append(Act.RESUME)
        shedding_since, spent = None, False
    elif shedding_since is not None:
        if over:  # the grace counts from the last sample over the ceiling
            shedding_since = now
        elif now - shedding_since >= shed_seconds:
            acts.append(Act.GIVE_UP)
            shedding_since, spent = None, True
    elif kind.sheds and rss >= m.soft and (not spent or over):
        acts.append(Act.SHED)
        shedding_since = now
    return dataclasses.replace(state, shedding_since=shedding_since, spent=spent, over=over), tuple(acts)


MIB = 1024 * 1024
BROKER_OVERHEAD = 512 * MIB
"""What the JVM holds besides its heap (metaspace, code cache, direct buffers, thread stacks), with room."""
INGEST_IDLE = 128 * MIB
"""A receiver process without a queue, with room for the UDP hand-off and the producer library's buffers."""


def heap_bytes(heap: str) -> int:
    """A Java heap size (512m, 2g) in bytes."""
    found = re.fullmatch(r"([1-9][0-9]*)([kKmMgG])", heap)
    if found is None:
        raise ValueError(f"not a Java heap size: {heap!r}")
    return int(found[1]) * 1024 ** "kmg".index(found[2].lower()) * 1024


def kinds(config: Config) -> dict[str, Kind]:
    """Every kind with its ceiling from configuration (derived where memory.*_bytes is 0)."""
    m = config.memory
    broker = m.broker_bytes or heap_bytes(config.kafka.heap) + BROKER_OVERHEAD
    ingest = m.ingest_bytes or INGEST_IDLE + 2 * config.syslog.queue_bytes
    return {
        k.name: k
        for k in (
            Kind("node", m.node_bytes, sheds=True, restarts=False),
            Kind("parse", m.parse_bytes, sheds=False, restarts=True),
            Kind("broker", broker, sheds=False, restarts=False),
            Kind("ingest", ingest, sheds=True, restarts=True),
            Kind("traps", m.traps_bytes, sheds=False, restarts=True),
            Kind("poller", m.poller_bytes, sheds=False, restarts=True),
            Kind("executor", m.executor_bytes, sheds=False, restarts=True),
        )
    }
