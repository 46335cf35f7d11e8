"""How a single node tells a child process to shed memory: SIGUSR1 to start, SIGUSR2 to stop.

The node's memory watch (netobs.memory) sends them as a process nears its ceiling and once it is back under it;
the node starts its children with both ignored, so one that arrives before the child listens does nothing.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

SHED = signal.SIGUSR1
RESUME = signal.SIGUSR2


def on_signals(loop: asyncio.AbstractEventLoop, shed: Callable[[bool], None]) -> Callable[[], None]:
    """Call shed(True) on SHED and shed(False) on RESUME, on loop; returns what removes the handlers."""
    loop.add_signal_handler(SHED, shed, True)
    loop.add_signal_handler(RESUME, shed, False)

    def remove() -> None:
        loop.remove_signal_handler(SHED)
        loop.remove_signal_handler(RESUME)

    return remove
