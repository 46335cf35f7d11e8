"""Per-process memory ceilings (hardening finding 13): the policy decided from samples alone, its edges (/proc,
signals) against real processes, and the settings that feed it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from common import pressure
from common.config import ConfigError, MemoryConfig
from netobs import config as config_mod
from netobs.memory.policy import Act, Kind, State, decide, heap_bytes, kinds, marks
from netobs.memory.watch import Hooks, MemoryWatch, resident_bytes, spawned_children

MIB = 1024 * 1024
SHEDS = Kind("ingest", 100 * MIB, sheds=True, restarts=True)
REPORTED = Kind("node", 100 * MIB, sheds=True, restarts=False)
M = marks(100 * MIB, 0.8)


def run(kind: Kind, samples: list[tuple[float, int]], grace: float = 30.0) -> list[tuple[Act, ...]]:
    """The acts of each (time, rss in MiB) sample, in order."""
    state, out = State(), []
    for now, rss in samples:
        state, acts = decide(rss * MIB, kind, M, state, now, grace)
        out.append(acts)
    return out


def test_marks_sit_below_the_ceiling_with_room_between_shedding_and_resuming() -> None:
    assert M.resume < M.soft < M.ceiling and M.soft == 80 * MIB


def test_under_the_soft_mark_nothing_happens() -> None:
    assert run(SHEDS, [(0, 10), (1, 79), (2, 50)]) == [(), (), ()]


def test_past_the_soft_mark_it_sheds_once_and_resumes_once_under_the_resume_mark() -> None:
    acts = run(SHEDS, [(0, 81), (1, 85), (2, 79), (3, 70), (4, 60)])
    assert acts == [(Act.SHED,), (), (), (Act.RESUME,), ()]


def test_a_kind_that_cannot_shed_is_not_told_to() -> None:
    parse = Kind("parse", 100 * MIB, sheds=False, restarts=True)
    assert run(parse, [(0, 90), (1, 95)]) == [(), ()]


def test_shedding_that_does_not_bring_it_down_ends_after_the_grace_and_is_not_tried_again_until_it_falls() -> None:
    acts = run(SHEDS, [(0, 85), (10, 85), (31, 85), (40, 85), (50, 70), (60, 85)])
    assert acts == [(Act.SHED,), (), (Act.GIVE_UP,), (), (), (Act.SHED,)]


def test_past_the_ceiling_a_restartable_process_is_restarted_and_not_again_within_the_grace() -> None:
    acts = run(SHEDS, [(0, 120), (1, 120), (5, 120), (31, 120)], grace=30)
    assert acts[0] == (Act.OVER, Act.RESTART)
    assert acts[1] == (Act.OVER, Act.SHED), "the new process over its ceiling is told once, and sheds"
    assert acts[2] == (), "no second restart within the grace"
    assert acts[3] == (Act.RESTART,), "the crossing was told already; the restart is told on its own"


def test_past_the_ceiling_a_process_that_cannot_restart_is_told_once_and_keeps_shedding() -> None:
    acts = run(REPORTED, [(0, 120), (1, 130), (100, 130), (101, 90), (129, 90), (131, 90)])
    assert acts == [(Act.OVER, Act.SHED), (), (), (), (), (Act.GIVE_UP,)], "the grace counts from the last sample over"


def test_a_second_crossing_is_told_again() -> None:
    acts = run(REPORTED, [(0, 120), (1, 70), (2, 120)])
    assert acts == [(Act.OVER, Act.SHED), (Act.RESUME,), (Act.OVER, Act.SHED)]


def test_ceilings_come_from_settings_and_are_derived_where_zero() -> None:
    config = config_mod.load(environ={"NETOBS_KAFKA_HEAP": "1g", "NETOBS_SYSLOG_QUEUE_BYTES": str(64 * MIB)})
    found = kinds(config)
    assert found["broker"].ceiling == 1024 * MIB + 512 * MIB
    assert found["ingest"].ceiling == 128 * MIB + 2 * 64 * MIB
    assert found["node"].ceiling == MemoryConfig().node_bytes
    explicit = config_mod.load(environ={"NETOBS_MEMORY_BROKER_BYTES": str(900 * MIB)})
    assert kinds(explicit)["broker"].ceiling == 900 * MIB
    assert not found["node"].restarts and not found["broker"].restarts and found["parse"].restarts
    assert heap_bytes("512m") == 512 * MIB and heap_bytes("2g") == 2048 * MIB


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NETOBS_MEMORY_PARSE_BYTES", "0", "NETOBS_MEMORY_PARSE_BYTES: 16 MiB"),
        ("NETOBS_MEMORY_NODE_BYTES", str(8 * MIB), "NETOBS_MEMORY_NODE_BYTES"),
        ("NETOBS_MEMORY_INGEST_BYTES", str(MIB), "NETOBS_MEMORY_INGEST_BYTES: 0 (derived) or 16 MiB"),
        ("NETOBS_MEMORY_SOFT_FRACTION", "1.2", "NETOBS_MEMORY_SOFT_FRACTION"),
        ("NETOBS_MEMORY_SAMPLE_SECONDS", "0", "NETOBS_MEMORY_SAMPLE_SECONDS"),
        ("NETOBS_MEMORY_SHED_SECONDS", "0.5", "NETOBS_MEMORY_SHED_SECONDS"),
        ("NETOBS_SYSLOG_QUEUE_BYTES", "1000", "NETOBS_SYSLOG_QUEUE_BYTES"),
    ],
)
def test_bad_memory_settings_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_mod.load(environ={name: value})


def test_resident_bytes_reads_a_real_process_and_none_once_it_is_gone() -> None:
    rss = resident_bytes(os.getpid())
    assert rss is not None and rss > MIB
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert resident_bytes(child.pid) is None


def _idle(seconds: float) -> None:
    time.sleep(seconds)


def test_spawned_children_finds_multiprocessing_spawn_children_only() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    spawned = multiprocessing.get_context("spawn").Process(target=_idle, args=(30,), daemon=True)
    spawned.start()
    try:
        found: list[int] = []
        for _ in range(200):  # until the child has exec'd: before that its command line is this process's
            found = spawned_children(os.getpid())
            if spawned.pid in found:
                break
            time.sleep(0.05)
        assert spawned.pid in found and other.pid not in found
    finally:
        spawned.kill()
        other.kill()
        spawned.join()
        other.wait()


async def test_the_shedding_signals_reach_the_handler_and_are_removed() -> None:
    told: list[bool] = []
    remove = pressure.on_signals(asyncio.get_running_loop(), told.append)
    try:
        os.kill(os.getpid(), pressure.SHED)
        os.kill(os.getpid(), pressure.RESUME)
        for _ in range(100):
            if len(told) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        remove()
    assert told == [True, False]
    assert signal.getsignal(pressure.SHED) is signal.SIG_DFL


GROW = "import sys, time; held = bytearray(int(sys.argv[1])); held[::4096] = b'x' * len(held[::4096]); time.sleep(60)"


async def test_the_watch_restarts_a_real_process_over_its_ceiling_counts_it_and_says_it_once(caplog) -> None:
    """A child holding 96 MiB against a 64 MiB ceiling: restarted once (then not again within the grace), and
    its replacement, small, is left alone."""
    procs = [subprocess.Popen([sys.executable, "-c", GROW, str(96 * MIB)])]
    restarted: list[int] = []

    async def restart(kind: str, pid: int) -> None:
        restarted.append(pid)
        procs[-1].kill()
        procs[-1].wait()
        procs.append(subprocess.Popen([sys.executable, "-c", GROW, str(MIB)]))

    kind = Kind("ingest", 64 * MIB, sheds=False, restarts=True)
    hooks = Hooks(lambda: [("ingest", procs[-1].pid)], lambda kind, pid, on: None, restart)
    watch = MemoryWatch(MemoryConfig(shed_seconds=30), {"ingest": kind}, hooks)
    try:
        while (resident_bytes(procs[0].pid) or 0) < 96 * MIB:  # until the child has touched what it holds
            await asyncio.sleep(0.05)
        for now in range(5):
            await watch.sample(float(now))
            await asyncio.sleep(0.1)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert restarted == [procs[0].pid]
    families = {f.name: f for f in watch.families()}
    restarts = {
        s.labels["kind"]: s.value for s in families["netobs_memory_restarts"].samples if s.name.endswith("_total")
    }
    assert restarts == {"ingest": 1}
    assert sum("over its ceiling" in r.getMessage() for r in caplog.records) == 1
