"""Runs the Faust app on an event loop of its own, in its own thread, so it never shares a loop with the
web server (faust-streaming issue 448) and the process keeps control of its signals."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processors.app import Worker

log = logging.getLogger(__name__)

TRIM_SECONDS = 10.0
CRASH_CHECK_SECONDS = 2.0
MEMORY = "memory"
"""The pause reason of every partition while the node is over its soft memory ceiling."""


def heap_trimmer() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another C library.

    A batch's rows are millions of small objects freed together; glibc keeps the freed pages in its arenas
    (a burst left the node 300 MB above its idle size with nothing in use), and malloc_trim gives them back.
    """
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


class WorkerThread(threading.Thread):
    """A thread that starts a worker's Faust app, runs it until stop(), then stops it cleanly."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(name="faust-worker", daemon=True)
        self.worker = worker
        self.error: BaseException | None = None
        self.started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop_requested: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:
            self.error = exc
            log.exception("worker stopped with an error")
        finally:
            self.started.set()
            self._loop.close()

    async def _main(self) -> None:
        self._stop_requested = asyncio.Event()
        app = self.worker.app
        app.loop = self._loop
        await app.start()
        self.started.set()
        trimming = asyncio.create_task(_trim_heap_periodically(heap_trimmer()))
        try:
            while not self._stop_requested.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), CRASH_CHECK_SECONDS)
                if (reason := self.worker.crash_reason()) is not None:
                    raise RuntimeError(f"the worker's Faust app crashed, it would store nothing more: {reason!r}")
        finally:
            trimming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trimming
            await app.stop()
            self.worker.release()

    def pause(self, on: bool) -> None:
        """Stop fetching (on) or fetch again: while paused, what the worker fetched is still stored and the rest
        waits in the broker. Idempotent; the memory watch repeats it while the node stays high, since a
        rebalance resumes every partition. A partition paused for fairness as well stays paused (Pauses)."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._pause, on)

    def _pause(self, on: bool) -> None:
        if on:
            self.worker.pauses.hold(MEMORY, self.worker.app.consumer.assignment())
        else:
            self.worker.pauses.release(MEMORY)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the app to stop and wait for it."""
        if self._stop_requested is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_requested.set)
        self.join(timeout)


async def _trim_heap_periodically(trim: Callable[[int], int] | None) -> None:
    """Give the heap's free pages back to the system every TRIM_SECONDS (in a thread: it walks the arenas)."""
    if trim is None:
        return
    while True:
        await asyncio.sleep(TRIM_SECONDS)
        await asyncio.to_thread(trim, 0)
