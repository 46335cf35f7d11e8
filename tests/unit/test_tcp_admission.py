"""The TCP receiver's admission policy against slowloris: pure decisions, tested directly."""

from __future__ import annotations

from ingest.syslog.admission import Limits, Peer, Verdict, admit, expired

LIMITS = Limits(max_connections=3, per_source=2, partial_timeout=30, idle_timeout=600, evictable_after=10)


def test_room_admits_and_a_source_at_its_cap_is_refused() -> None:
    peers = [Peer("10.0.0.1", 0.0), Peer("10.0.0.1", 0.0)]
    assert admit(peers, "10.0.0.2", 1.0, LIMITS) == (Verdict.ADMIT, None)
    assert admit(peers, "10.0.0.1", 1.0, LIMITS) == (Verdict.PER_SOURCE, None)


def test_full_evicts_the_longest_stalled_and_refuses_when_none_is_stalled() -> None:
    quiet = Peer("a", last_data=50.0)
    trickle = Peer("b", last_data=99.0, partial_since=20.0)  # sends bytes, never completes a line
    busy = Peer("c", last_data=99.0)
    assert admit([quiet, trickle, busy], "d", 100.0, LIMITS) == (Verdict.EVICT, trickle)
    assert admit([quiet, busy, Peer("e", 99.5)], "d", 55.0, LIMITS) == (Verdict.FULL, None)


def test_a_paused_connection_is_never_stalled() -> None:
    paused = Peer("a", last_data=0.0, partial_since=0.0, paused=True)
    full = [paused, Peer("b", 99.0), Peer("c", 99.0)]
    assert admit(full, "d", 100.0, LIMITS) == (Verdict.FULL, None)
    assert expired(paused, 1000.0, LIMITS) is None
    paused.resume(1000.0)
    assert expired(paused, 1010.0, LIMITS) is None and expired(paused, 1031.0, LIMITS) == "partial"


def test_partial_frames_age_only_while_no_line_completes() -> None:
    peer = Peer("a", 0.0)
    peer.read(1.0, lines=0, holds_partial=True)
    peer.read(20.0, lines=0, holds_partial=True)  # a trickle: bytes but no line
    assert expired(peer, 31.0, LIMITS) == "partial"
    peer.read(31.0, lines=5, holds_partial=True)  # a busy stream whose read ended mid-line
    assert expired(peer, 60.0, LIMITS) is None
    peer.read(61.0, lines=1, holds_partial=False)
    assert peer.partial_since is None and expired(peer, 660.0, LIMITS) is None
    assert expired(peer, 661.0, LIMITS) == "idle"


def test_no_idle_bound_when_it_is_zero() -> None:
    limits = Limits(max_connections=1, per_source=1, partial_timeout=30, idle_timeout=0, evictable_after=10)
    assert expired(Peer("a", 0.0), 1e9, limits) is None
