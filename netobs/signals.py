"""Signals stop a stage cleanly: one place for what every long-running netobs command does on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set stop (on the running loop), so a stage shuts down cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def run_until_signalled(serve: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run serve(stop) on a fresh event loop until it returns; SIGINT/SIGTERM set stop."""

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve(stop)

    asyncio.run(main())
