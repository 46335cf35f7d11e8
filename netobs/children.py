"""Child processes that die with their parent: no orphan broker or receiver after a crash or Ctrl-C."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


def spawn(args: list[str], ignore: tuple[signal.Signals, ...] = (), **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child in its own process group (Ctrl-C reaches us, we stop it) that gets SIGTERM if we die.

    The signals in ignore start ignored (an ignored signal stays so across exec until the child handles it): one
    that arrives before the child listens for it does not end it, as the default action would.
    Linux sends the parent-death signal when the *thread* that spawned the child exits: call this from the
    main thread.
    """
    parent = os.getpid()

    def die_with_parent() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        for sig in ignore:
            signal.signal(sig, signal.SIG_IGN)
        if os.getppid() != parent:
            os._exit(1)

    return subprocess.Popen(args, preexec_fn=die_with_parent, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after timeout."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """SIGTERM every child at once, then SIGKILL those still running after timeout: one bound for them all."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Children:
    """The node's children by name (receivers, trap receiver, poller, executor): started by start(name), and
    replaced in place by restart(name), during which the one stopping is not reported as exited."""

    def __init__(self, start: Callable[[str], subprocess.Popen[bytes]]) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._start = start
        self._restarting: set[str] = set()
        self._closed = False

    def start(self, name: str) -> None:
        self.procs[name] = self._start(name)

    def exited(self) -> list[tuple[str, int]]:
        """(name, exit code) of children that ended on their own (not in a restart)."""
        return [
            (name, code)
            for name, proc in self.procs.items()
            if name not in self._restarting and (code := proc.poll()) is not None
        ]

    async def restart(self, name: str, timeout: float) -> None:
        """Stop a child (SIGTERM, then SIGKILL after timeout) and start it again; called on the main thread's loop,
        so the new child's parent-death signal follows the main thread. Not once stop_all has begun."""
        self._restarting.add(name)
        try:
            await asyncio.to_thread(stop, self.procs[name], timeout)
            if not self._closed:
                self.start(name)
        finally:
            self._restarting.discard(name)

    def stop_all(self, timeout: float) -> None:
        """Stop every child (one bound for them all); none is started again after this."""
        self._closed = True
        stop_all(list(self.procs.values()), timeout)
