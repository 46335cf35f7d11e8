"""What the syslog receivers did, per transport: the numbers an operator needs to see loss.

Counters are only touched on the event loop thread (the UDP thread reports through it), so plain
integers suffice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from ingest.spool.disk import SpoolStats
from schemas.raw_syslog import LineFlag

log = logging.getLogger("netobs.ingest")

TRANSPORTS = ("udp", "tcp", "tls", "relp")


@dataclasses.dataclass
class TransportCounters:
    """Totals since start for one transport."""

    received: int = 0
    """Lines received (pieces of an oversized line count one each)."""
    bytes: int = 0
    """Line bytes received, without framing."""
    batches: int = 0
    """Kafka records delivered."""
    delivered: int = 0
    """Lines acknowledged by Kafka."""
    retried: int = 0
    """Lines sent again because the broker was away (a retriable failure); not lost."""
    dropped: int = 0
    """Lines received but lost: queue full (no spool), Kafka refusing a record, or still pending at the end of the
    drain."""
    spooled: int = 0
    """UDP lines written to the spool (the queue full or the broker stalled); sent from there later."""
    dropped_spool_full: int = 0
    """UDP lines dropped because the spool had reached syslog.spool_max_bytes (the newest are dropped)."""
    dropped_spool_error: int = 0
    """UDP lines dropped because writing them to the spool failed (disk full, I/O error)."""
    spool_lines: int = 0
    """Lines of this transport in the spool now, not yet acknowledged by the broker (a gauge)."""
    spool_restored: int = 0
    """Lines found in the spool at start, left by a previous run."""
    oversized: int = 0
    truncated: int = 0
    framing: int = 0
    """Lines flagged FRAMING; for RELP, sessions closed because a frame was malformed."""
    rejected: int = 0
    """TCP/TLS/RELP connections closed at once because max_tcp_connections were open (and, for TCP/TLS, none
    was stalled)."""
    rejected_per_source: int = 0
    """TCP/TLS connections closed at once because their source held max_tcp_connections_per_source."""
    evicted: int = 0
    """Stalled TCP/TLS connections closed to make room for a new one."""
    closed_partial: int = 0
    """TCP/TLS connections closed because a frame stayed incomplete for tcp_partial_timeout_s."""
    closed_idle: int = 0
    """TCP/TLS connections closed after tcp_idle_timeout_s of silence."""
    connections: int = 0
    """TCP/TLS/RELP connections open now."""
    kernel_dropped: int = 0
    """UDP datagrams the kernel dropped because the socket buffer was full (from /proc/net/udp)."""
    moved: int = 0
    """Lines placed in another partition than their sender's, because a heavy sender holds it (fairness.py)."""


class Counters:
    """The counters of all transports, plus gauges refreshed on demand (kernel drops)."""

    def __init__(self) -> None:
        self.by_transport = {name: TransportCounters() for name in TRANSPORTS}
        self.refreshers: list[Callable[[], None]] = []
        """Called before a snapshot or a log line, to update gauges read from elsewhere."""
        self.spool = SpoolStats()
        """The UDP spool's files (ingest.spool.disk keeps it current)."""
        self.heavy_senders = 0
        """Senders marked heavy now: the others of their partitions are placed elsewhere (a gauge)."""

    def __getitem__(self, transport: str) -> TransportCounters:
        return self.by_transport[transport]

    def count_flags(self, transport: str, flags: list[int]) -> None:
        """Add the flagged lines of a delivery to the flag counters."""
        if not any(flags):
            return
        counters = self.by_transport[transport]
        for flag in flags:
            if flag:
                counters.oversized += bool(flag & LineFlag.OVERSIZED)
                counters.truncated += bool(flag & LineFlag.TRUNCATED)
                counters.framing += bool(flag & LineFlag.FRAMING)

    def refresh(self) -> None:
        for refresh in self.refreshers:
            refresh()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of every counter, by transport then name."""
        self.refresh()
        return {name: dataclasses.asdict(c) for name, c in self.by_transport.items()}


def rate_line(transport: str, now: dict[str, int], before: dict[str, int], seconds: float) -> str:
    """One log line for a transport: totals plus line and byte rates over the interval."""
    lines_per_s = (now["received"] - before["received"]) / seconds
    mb_per_s = (now["bytes"] - before["bytes"]) / seconds / 1e6
    return (
        f"syslog {transport}: {now['received']} lines ({lines_per_s:,.0f}/s, {mb_per_s:.2f} MB/s), "
        f"delivered {now['delivered']} in {now['batches']} batches, retried {now['retried']}, "
        f"dropped {now['dropped']} (+{now['dropped_spool_full']} spool full, {now['dropped_spool_error']} spool "
        f"errors), spooled {now['spooled']} ({now['spool_lines']} in the spool), "
        f"kernel dropped {now['kernel_dropped']}, oversized {now['oversized']}, "
        f"truncated {now['truncated']}, framing {now['framing']}, "
        f"connections {now['connections']}, rejected {now['rejected']} (+{now['rejected_per_source']} per source), "
        f"moved {now['moved']}, evicted {now['evicted']}, closed partial {now['closed_partial']}, "
        f"idle {now['closed_idle']}"
    )


async def log_periodically(counters: Counters, seconds: float, enabled: tuple[str, ...]) -> None:
    """Log each enabled transport's counters every `seconds` (INFO) until cancelled; idle ones stay quiet."""
    before = counters.snapshot()
    started = time.monotonic()
    while True:
        await asyncio.sleep(seconds)
        now = counters.snapshot()
        elapsed = time.monotonic() - started
        for transport in enabled:
            if now[transport] != before[transport]:
                log.info(rate_line(transport, now[transport], before[transport], elapsed))
        before, started = now, time.monotonic()
