"""netobs watching itself: one resource_monitor row per process and interval, read from /proc.

The readers are pure functions of /proc's text, so they are tested on fixed samples; the Sampler adds
the reading of the files and what needs a previous sample (CPU and insert rate are rates).
cpu_percent and rss_bytes describe this process (100 is one core busy); memory, swap, disk and load
describe the host, as TWSNMP FK's resource monitor does, so each row says what the process used and
how the machine around it was doing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_cpu_seconds(stat: str) -> float:
    """User plus system CPU seconds of a process from /proc/<pid>/stat (its name may hold spaces and ')')."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the name: state is field 3 of the man page, utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_percents(meminfo: str) -> tuple[float, float]:
    """(memory used %, swap used %) from /proc/meminfo; used memory is what is not available."""
    kb: dict[str, int] = {}
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            kb[name] = int(parts[0])
    total, available = kb.get("MemTotal", 0), kb.get("MemAvailable", kb.get("MemFree", 0))
    swap_total, swap_free = kb.get("SwapTotal", 0), kb.get("SwapFree", 0)
    memory = 100.0 * (total - available) / total if total else 0.0
    swap = 100.0 * (swap_total - swap_free) / swap_total if swap_total else 0.0
    return memory, swap


def load1(loadavg: str) -> float:
    """The one-minute load average from /proc/loadavg."""
    return float(loadavg.split()[0])


def rss_bytes(statm: str) -> int:
    """Resident set size from /proc/<pid>/statm (pages)."""
    return int(statm.split()[1]) * PAGE_SIZE


def disk_percent(path: str) -> float:
    """Used % of the file system holding path (its nearest existing parent); 0 when none can be read."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and probe != os.path.dirname(probe):
        probe = os.path.dirname(probe)
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return 0.0
    return 100.0 * usage.used / usage.total if usage.total else 0.0


def consumer_lag(highwaters: Mapping[tuple[str, int], int | None], done: Mapping[tuple[str, int], int]) -> int:
    """Records behind the high watermarks, summed over the partitions held: (topic, partition) -> next
    offset to be written, and -> highest offset handled. -1 when no high watermark is known yet; a
    partition held but not handled yet counts from its start."""
    known = {tp: hw for tp, hw in highwaters.items() if hw is not None and hw >= 0}
    if not known:
        return -1
    return sum(max(0, hw - 1 - done.get(tp, -1)) for tp, hw in known.items())


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


class Sampler:
    """Takes one resource_monitor row per call; rates are over the time since the previous call."""

    def __init__(self, host: str, process: str, data_dir: str, pid: int | None = None) -> None:
        self.host = host
        self.process = process
        self.data_dir = data_dir
        self._proc = f"/proc/{pid or os.getpid()}"
        self._last = (time.monotonic(), process_cpu_seconds(_read(f"{self._proc}/stat")), 0)

    def sample(self, rows_stored: int, lag: int) -> dict[str, Any]:
        """The row now; rows_stored is the running total of rows this process inserted."""
        now, cpu = time.monotonic(), process_cpu_seconds(_read(f"{self._proc}/stat"))
        then, cpu_then, rows_then = self._last
        elapsed = max(now - then, 1e-6)
        self._last = (now, cpu, rows_stored)
        memory, swap = memory_percents(_read("/proc/meminfo"))
        return {
            "time": time.time_ns() // 1_000_000,
            "host": self.host,
            "process": self.process,
            "cpu_percent": 100.0 * (cpu - cpu_then) / elapsed,
            "memory_percent": memory,
            "swap_percent": swap,
            "disk_percent": disk_percent(self.data_dir),
            "load1": load1(_read("/proc/loadavg")),
            "rss_bytes": rss_bytes(_read(f"{self._proc}/statm")),
            "consumer_lag": lag,
            "insert_rate": (rows_stored - rows_then) / elapsed,
        }
