"""Who may hold one of the TCP/TLS receiver's connections: the policy against slowloris, kept pure.

A connection costs a slot whether it sends or not. Holding slots with partial lines or silence must not lock
out real senders, so: a source may hold only so many slots; a partial frame must complete within a bound; a
silent connection is closed after a (long) idle bound; and when every slot is taken, a newcomer takes the
slot of the connection that has been stalled longest, provided it has been stalled at least a little while,
rather than being refused. Each decision is named so the receiver can count it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Limits:
    max_connections: int
    per_source: int
    partial_timeout: float
    """Seconds a frame may stay incomplete."""
    idle_timeout: float
    """Seconds a connection may stay silent; 0: no bound."""
    evictable_after: float
    """Seconds of stall (silence or an incomplete frame) after which a full receiver may take the slot."""


@dataclass
class Peer:
    """One connection's activity, updated by the receiver after each read (monotonic seconds)."""

    source: str
    last_data: float
    partial_since: float | None = None
    """When the frame now incomplete started waiting; None when no frame is open."""
    paused: bool = False
    """The receiver is not reading it (back-pressure from the broker): its silence is ours, not its own."""

    def read(self, now: float, lines: int, holds_partial: bool) -> None:
        """A read that completed `lines` lines and left a frame open or not.

        A busy sender's reads often end mid-line: the open frame counts from the last read that completed
        a line, so a trickle that never completes one ages while a busy stream never does.
        """
        self.last_data = now
        if not holds_partial:
            self.partial_since = None
        elif lines or self.partial_since is None:
            self.partial_since = now

    def resume(self, now: float) -> None:
        """Reading goes on after a pause: the time spent paused is not the sender's stall."""
        self.paused = False
        self.last_data = now
        if self.partial_since is not None:
            self.partial_since = now


class Verdict(Enum):
    ADMIT = "admit"
    EVICT = "evict"
    """Admit, closing the victim first."""
    FULL = "full"
    PER_SOURCE = "per_source"


def admit(peers: Iterable[Peer], source: str, now: float, limits: Limits) -> tuple[Verdict, Peer | None]:
    """The verdict for a new connection from `source` and, for EVICT, the connection to close for it."""
    peers = list(peers)
    if sum(p.source == source for p in peers) >= limits.per_source:
        return Verdict.PER_SOURCE, None
    if len(peers) < limits.max_connections:
        return Verdict.ADMIT, None
    stalled = [p for p in peers if not p.paused and now - _stalled_since(p) >= limits.evictable_after]
    if not stalled:
        return Verdict.FULL, None
    return Verdict.EVICT, min(stalled, key=_stalled_since)


def expired(peer: Peer, now: float, limits: Limits) -> str | None:
    """Why this connection must close now ("partial" or "idle"), or None."""
    if peer.paused:
        return None
    if peer.partial_since is not None and now - peer.partial_since >= limits.partial_timeout:
        return "partial"
    if limits.idle_timeout and now - peer.last_data >= limits.idle_timeout:
        return "idle"
    return None


def _stalled_since(peer: Peer) -> float:
    """A connection holding a partial frame is stalled since the frame opened, however it trickles bytes."""
    return peer.partial_since if peer.partial_since is not None else peer.last_data
