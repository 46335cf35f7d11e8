"""Child processes that die with their parent: no orphan broker or receiver after a crash or Ctrl-C."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from typing import Any

_PR_SET_PDEATHSIG = 1


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child in its own process group (Ctrl-C reaches us, we stop it) that gets SIGTERM if we die.

    Linux sends the parent-death signal when the *thread* that spawned the child exits: call this from the
    main thread.
    """
    parent = os.getpid()

    def die_with_parent() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
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
