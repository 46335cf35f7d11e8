"""The node's memory watch: samples the resident memory (VmRSS) of the node and of each child, asks the policy
(netobs.memory.policy) what to do, and does it: the worker pauses fetching, the receivers shed (common.pressure's
signals), a child past its ceiling is restarted (a parse process is killed: the worker's pool starts another and
retries the batch from the broker). Every action is logged once and counted (netobs_memory_*).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics_core import Metric

from common import pressure
from common.config import MemoryConfig
from common.metrics import counter, gauge
from netobs.memory.policy import Act, Kind, Marks, State, decide, marks

log = logging.getLogger("netobs.memory")

MB = 1_000_000


def resident_bytes(pid: int) -> int | None:
    """VmRSS of pid in bytes; None when it is gone (or a zombie, which has none)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def spawned_children(parent: int) -> list[int]:
    """The children of parent started by multiprocessing's spawn (in a node: the worker's parse processes, its
    only user), from every thread's children list (a child belongs to the thread that started it)."""
    pids: list[int] = []
    for listing in Path(f"/proc/{parent}/task").glob("*/children"):
        try:
            pids += [int(p) for p in listing.read_text().split()]
        except OSError:
            continue
    found = []
    for pid in pids:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


@dataclass(frozen=True)
class Hooks:
    """What the watch does to the processes of a node; each gets the kind and the pid sampled."""

    targets: Callable[[], Iterable[tuple[str, int]]]
    """(kind, pid) of every process to watch now; a kind may have several (parse): the largest is acted on."""
    shed: Callable[[str, int, bool], None]
    restart: Callable[[str, int], Awaitable[None]]


class MemoryWatch:
    """The policy's state per kind, and the counts and last samples the metrics show."""

    def __init__(self, settings: MemoryConfig, kinds: dict[str, Kind], hooks: Hooks) -> None:
        self.settings = settings
        self.kinds = kinds
        self.marks: dict[str, Marks] = {k: marks(kind.ceiling, settings.soft_fraction) for k, kind in kinds.items()}
        self.hooks = hooks
        self.states: dict[str, State] = {}
        self.resident: dict[str, int] = {}
        self.counts: Counter[tuple[str, Act]] = Counter()

    async def sample(self, now: float) -> None:
        """One round: every process sampled, every verdict acted on."""
        largest: dict[str, tuple[int, int]] = {}
        for kind, pid in self.hooks.targets():
            rss = resident_bytes(pid)
            if rss is not None and kind in self.kinds and rss >= largest.get(kind, (-1, 0))[0]:
                largest[kind] = (rss, pid)
        self.resident = {kind: rss for kind, (rss, _) in largest.items()}
        for kind, (rss, pid) in largest.items():
            state, acts = decide(
                rss, self.kinds[kind], self.marks[kind], self.states.get(kind, State()), now, self.settings.shed_seconds
            )
            self.states[kind] = state
            for act in acts:
                self.counts[kind, act] += 1
                self._tell(kind, pid, rss, act)
            try:
                if Act.RESTART in acts:
                    await self.hooks.restart(kind, pid)
                elif state.shedding_since is not None:  # repeated: a new child or a rebalance may have undone it
                    self.hooks.shed(kind, pid, True)
                elif Act.RESUME in acts or Act.GIVE_UP in acts:
                    self.hooks.shed(kind, pid, False)
            except Exception as exc:  # a process that went away meanwhile: the next round sees what is there
                log.warning("memory watch could not act on %s (pid %d): %s", kind, pid, exc)

    def _tell(self, kind: str, pid: int, rss: int, act: Act) -> None:
        m = self.marks[kind]
        where = f"{kind} (pid {pid}) at {rss / MB:.0f} MB"
        if act is Act.SHED:
            log.warning("%s, past its soft mark %.0f MB (ceiling %.0f MB): shedding, %s", where, m.soft / MB,
                        m.ceiling / MB, SHEDDING[kind])  # fmt: skip
        elif act is Act.RESUME:
            log.info("%s, under %.0f MB again: shedding over", where, m.resume / MB)
        elif act is Act.GIVE_UP:
            log.warning(
                "%s after shedding %.0f s: what it holds is not a backlog; taking work again (no more shedding until "
                "it is under %.0f MB)",
                where,
                self.settings.shed_seconds,
                m.resume / MB,
            )
        elif act is Act.OVER:
            what = (
                f"it is restarted (at most once every {self.settings.shed_seconds:.0f} s)"
                if self.kinds[kind].restarts
                else "it is not restarted by the node (see the README's Memory ceilings)"
            )
            log.error("%s, over its ceiling of %.0f MB (memory.%s_bytes): %s", where, m.ceiling / MB, kind, what)
        elif act is Act.RESTART:
            log.error("%s restarted for its memory; what it had not handed on waits in the broker", where)

    async def run(self, stop: asyncio.Event) -> None:
        """Sample every memory.sample_seconds until stop."""
        ceilings = ", ".join(f"{k} {kind.ceiling / MB:.0f}" for k, kind in sorted(self.kinds.items()))
        log.info("memory ceilings (MB): %s; soft mark at %.0f %%", ceilings, 100 * self.settings.soft_fraction)
        while not stop.is_set():
            await self.sample(time.monotonic())
            try:
                await asyncio.wait_for(stop.wait(), self.settings.sample_seconds)
            except TimeoutError:
                continue

    def families(self) -> list[Metric]:
        kinds = sorted(self.kinds)

        def total(act: Act) -> Iterable[tuple[list[str], float]]:
            return (([k], self.counts[k, act]) for k in kinds)

        return [
            gauge(
                "netobs_memory_resident_bytes",
                "Last sampled RSS, by kind of process (parse: the largest).",
                ["kind"],
                (([k], v) for k, v in sorted(self.resident.items())),
            ),
            gauge(
                "netobs_memory_ceiling_bytes",
                "The RSS ceiling of each kind of process (memory.*_bytes).",
                ["kind"],
                (([k], self.kinds[k].ceiling) for k in kinds),
            ),
            gauge(
                "netobs_memory_shedding",
                "1 while a kind of process is told to take no more into memory.",
                ["kind"],
                (([k], int(self.states.get(k, State()).shedding_since is not None)) for k in kinds),
            ),
            counter(
                "netobs_memory_sheds_total",
                "Times a process passed its soft mark and was told to shed.",
                ["kind"],
                total(Act.SHED),
            ),
            counter(
                "netobs_memory_over_ceiling_total",
                "Times a process crossed its RSS ceiling.",
                ["kind"],
                total(Act.OVER),
            ),
            counter(
                "netobs_memory_restarts_total",
                "Processes restarted for passing their RSS ceiling.",
                ["kind"],
                total(Act.RESTART),
            ),
        ]


SHEDDING = {
    "node": "the worker stops fetching (the backlog waits in the broker)",
    "ingest": "the receivers take nothing more into memory (TCP senders wait, UDP goes to the spool)",
}


def node_hooks(
    children: Callable[[], dict[str, int]],
    broker: Callable[[], int | None],
    pause_worker: Callable[[bool], None],
    restart_child: Callable[[str], Awaitable[None]],
) -> Hooks:
    """The hooks of a single node: children() gives the pid of each named child (ingest, traps, poller,
    executor), broker() the embedded broker's (None: none here), pause_worker pauses the worker's fetching,
    restart_child restarts a named child."""
    node = os.getpid()

    def targets() -> Iterable[tuple[str, int]]:
        yield "node", node
        if (pid := broker()) is not None:
            yield "broker", pid
        yield from children().items()
        for pid in spawned_children(node):
            yield "parse", pid

    def shed(kind: str, pid: int, on: bool) -> None:
        if kind == "node":
            pause_worker(on)
        elif kind == "ingest":
            os.kill(pid, pressure.SHED if on else pressure.RESUME)

    async def restart(kind: str, pid: int) -> None:
        if kind == "parse":  # it ignores SIGTERM (its pipe is its life line); the pool replaces it
            os.kill(pid, signal.SIGKILL)
        else:
            await restart_child(kind)

    return Hooks(targets, shed, restart)
