"""FairGate: one key queueing many calls cannot keep another key from its turn."""

import asyncio

import pytest

from query_mcp.sql.fair import FairGate, QueueFull


async def test_turns_go_round_robin_and_per_key_limit_holds():
    gate = FairGate(capacity=2, per_key=1, waiting_per_key=4)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(key: str, label: str) -> None:
        async with gate.slot(key):
            order.append(label)
            await release.wait()

    tasks = [asyncio.create_task(hold("busy", f"busy{i}")) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(hold("other", "other")))
    await asyncio.sleep(0)
    assert order == ["busy0", "other"]  # busy's second call waits although a place was free
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["busy0", "other", "busy1", "busy2"]


async def test_a_cancelled_waiter_gives_its_turn_away():
    gate = FairGate(capacity=1, per_key=1, waiting_per_key=4)
    release = asyncio.Event()

    async def hold(key: str) -> str:
        async with gate.slot(key):
            await release.wait()
        return key

    first = asyncio.create_task(hold("a"))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(hold("b"))
    await asyncio.sleep(0)
    waiting.cancel()
    last = asyncio.create_task(hold("c"))
    release.set()
    assert await first == "a" and await last == "c"
    assert waiting.cancelled()


async def test_too_many_waiting_refused():
    gate = FairGate(capacity=1, per_key=1, waiting_per_key=1)
    release = asyncio.Event()

    async def hold() -> None:
        async with gate.slot("a"):
            await release.wait()

    running, waiting = asyncio.create_task(hold()), asyncio.create_task(hold())
    await asyncio.sleep(0)
    with pytest.raises(QueueFull):
        async with gate.slot("a"):
            pass
    async with asyncio.timeout(5):
        release.set()
        await asyncio.gather(running, waiting)
