"""Signals stop a stage cleanly: one place for what every long-running netobs command does on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


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


class StopDeadline:
    """Once a stop begins, the process is gone within `seconds`, whatever part is stuck.

    Each step of a stop has its own bound; this is the backstop for a step that ignores its bound (a thread
    that cannot be interrupted, a child that hangs). On expiry it names the step, calls `kill` (children and
    broker: what they had not handed on stays in the broker, whose log survives a kill) and exits the process.
    """

    def __init__(self, seconds: float, kill: Callable[[], None]) -> None:
        self.seconds = seconds
        self.step = "starting to stop"
        self._kill = kill
        self._armed = threading.Event()
        self._done = threading.Event()

    def arm(self) -> None:
        """Start counting (idempotent): called when the stop begins."""
        if not self._armed.is_set():
            self._armed.set()
            threading.Thread(target=self._watch, name="stop-deadline", daemon=True).start()

    def done(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        log.error("stop took over %.0f s, stuck %s: killing what is left; unstored records stay in the broker",
                  self.seconds, self.step)  # fmt: skip
        self._kill()
        logging.shutdown()
        os._exit(1)
