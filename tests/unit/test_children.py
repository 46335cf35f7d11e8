"""The node's children (netobs.children): a child restarted for its memory is replaced in place and not taken
for dead meanwhile; one started with the shedding signals ignored survives them before it listens."""

from __future__ import annotations

import asyncio
import sys
import time

from common import pressure
from netobs import children

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


async def test_restart_replaces_a_child_and_it_is_not_reported_exited() -> None:
    registry = children.Children(lambda name: children.spawn(SLEEP))
    registry.start("ingest")
    first = registry.procs["ingest"]
    try:
        restarting = asyncio.create_task(registry.restart("ingest", timeout=5))
        while first.poll() is None:
            await asyncio.sleep(0.01)
        assert registry.exited() == [], "a child being restarted is not dead"
        await restarting
        assert registry.procs["ingest"] is not first and registry.procs["ingest"].poll() is None
        assert registry.exited() == []
    finally:
        registry.stop_all(5)
    assert registry.exited() == [("ingest", registry.procs["ingest"].returncode)]


async def test_no_child_is_started_again_once_the_node_stops() -> None:
    registry = children.Children(lambda name: children.spawn(SLEEP))
    registry.start("traps")
    first = registry.procs["traps"]
    registry.stop_all(5)
    await registry.restart("traps", timeout=5)  # a restart decided just before the stop began
    assert registry.procs["traps"] is first and first.poll() is not None


def test_a_child_spawned_ignoring_the_shedding_signals_survives_them() -> None:
    ignoring = children.spawn(SLEEP, ignore=(pressure.SHED, pressure.RESUME))
    plain = children.spawn(SLEEP)
    try:
        time.sleep(0.5)
        for proc in (ignoring, plain):
            proc.send_signal(pressure.SHED)
        plain.wait(10)
        time.sleep(0.2)
        assert ignoring.poll() is None and plain.returncode == -pressure.SHED
    finally:
        children.stop_all([ignoring, plain], 5)
