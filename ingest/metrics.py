"""The ingest stages' Prometheus families, read from their counters (ingest.counters, the trap receiver's and
the poller's): what arrived, what Kafka took, what was lost and why."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric

from common.metrics import counter, gauge
from ingest.counters import Counters
from ingest.pollers.counters import PollerCounters
from ingest.spool.disk import SpoolStats
from ingest.traps.service import TrapCounters

FLAGS = ("oversized", "truncated", "framing")


def syslog_families(counters: Counters, transports: Iterable[str]) -> list[Metric]:
    """The syslog receivers of the enabled transports."""
    snap = counters.snapshot()  # refreshes the kernel's drop count
    on = [t for t in transports if t in snap]
    by = [(t, snap[t]) for t in on]
    return [
        counter(
            "netobs_syslog_received_total", "Lines received.", ["transport"], (([t], c["received"]) for t, c in by)
        ),
        counter(
            "netobs_syslog_received_bytes_total",
            "Line bytes received, without framing.",
            ["transport"],
            (([t], c["bytes"]) for t, c in by),
        ),
        counter(
            "netobs_syslog_accepted_total",
            "Lines acknowledged by Kafka (in the raw topic).",
            ["transport"],
            (([t], c["delivered"]) for t, c in by),
        ),
        counter(
            "netobs_syslog_dropped_total",
            "Lines lost, by reason: queue (Kafka slow, failing or not acknowledged at shutdown, and no spool), "
            "kernel (UDP datagrams the kernel dropped with the socket buffer full), spool_full (UDP, the spool at "
            "syslog.spool_max_bytes), spool_error (UDP, the spool's disk failed a write).",
            ["transport", "reason"],
            [([t, "queue"], c["dropped"]) for t, c in by]
            + [
                ([t, reason], c[field])
                for t, c in by
                if t == "udp"
                for reason, field in (
                    ("kernel", "kernel_dropped"),
                    ("spool_full", "dropped_spool_full"),
                    ("spool_error", "dropped_spool_error"),
                )
            ],
        ),
        counter(
            "netobs_syslog_spooled_total",
            "UDP lines written to the spool (the memory queue full or the broker stalled), sent from there later.",
            ["transport"],
            (([t], c["spooled"]) for t, c in by if t == "udp"),
        ),
        *spool_families("netobs_syslog", "lines", counters.spool),
        gauge(
            "netobs_syslog_heavy_senders",
            "Senders sending far more than the others now: each keeps its partition, the other senders of that "
            "partition are placed in the remaining ones.",
            [],
            [([], counters.heavy_senders)],
        ),
        counter(
            "netobs_syslog_moved_total",
            "Lines placed in another partition than their sender's because a heavy sender holds it.",
            ["transport"],
            (([t], c["moved"]) for t, c in by),
        ),
        counter(
            "netobs_syslog_flagged_total",
            "Lines stored with a flag: oversized (cut in pieces), truncated, framing (bad octet count).",
            ["transport", "flag"],
            (([t, f], c[f]) for t, c in by for f in FLAGS),
        ),
        counter(
            "netobs_syslog_batches_total",
            "Kafka records acknowledged (each holds many lines).",
            ["transport"],
            (([t], c["batches"]) for t, c in by),
        ),
        gauge(
            "netobs_syslog_connections",
            "TCP/TLS connections open now.",
            ["transport"],
            (([t], c["connections"]) for t, c in by if t != "udp"),
        ),
        counter(
            "netobs_syslog_connections_rejected_total",
            "TCP/TLS/RELP connections refused at once, by reason: full (max_tcp_connections open, none stalled) "
            "or per_source (the sender's address held max_tcp_connections_per_source).",
            ["transport", "reason"],
            [([t, "full"], c["rejected"]) for t, c in by if t != "udp"]
            + [([t, "per_source"], c["rejected_per_source"]) for t, c in by if t != "udp"],
        ),
        counter(
            "netobs_syslog_connections_closed_total",
            "TCP/TLS connections the receiver closed, by reason: evicted (stalled, its slot given to a newcomer), "
            "partial (a frame incomplete for tcp_partial_timeout_s), idle (silent for tcp_idle_timeout_s).",
            ["transport", "reason"],
            (
                ([t, reason], c[field])
                for t, c in by
                if t != "udp"
                for reason, field in (("evicted", "evicted"), ("partial", "closed_partial"), ("idle", "closed_idle"))
            ),
        ),
        counter(
            "netobs_syslog_retried_total",
            "Lines sent to Kafka again after a retriable failure (the broker away); not lost.",
            ["transport"],
            (([t], c["retried"]) for t, c in by),
        ),
    ]


TRAP_REJECTIONS = {
    "community": "rejected_community",
    "auth": "rejected_auth",
    "malformed": "malformed",
    "unsupported": "unsupported",
}


def trap_families(c: TrapCounters) -> list[Metric]:
    """The SNMP trap receiver."""
    for refresh in c.refreshers:
        refresh()
    return [
        counter("netobs_traps_received_total", "Datagrams taken from the trap socket.", [], [([], c.received)]),
        counter("netobs_traps_received_bytes_total", "Bytes of those datagrams.", [], [([], c.bytes)]),
        counter(
            "netobs_traps_accepted_total", "Traps and informs decoded and queued for Kafka.", [], [([], c.accepted)]
        ),
        counter(
            "netobs_traps_rejected_total",
            "Datagrams refused, by reason: community (not a trap community), auth (v3 user, digest, key or "
            "time window), malformed, unsupported (SNMP that is not a notification).",
            ["reason"],
            (([reason], getattr(c, name)) for reason, name in TRAP_REJECTIONS.items()),
        ),
        counter(
            "netobs_traps_discovery_total", "SNMPv3 discovery probes answered with a Report.", [], [([], c.discovery)]
        ),
        counter("netobs_traps_informs_acknowledged_total", "Informs answered.", [], [([], c.informs_acked)]),
        counter("netobs_traps_published_total", "Traps acknowledged by Kafka.", [], [([], c.delivered)]),
        counter(
            "netobs_traps_dropped_total",
            "Traps lost, by reason: queue (after decoding: Kafka slow or failing, and no spool), kernel (socket "
            "buffer full), spool_full (the spool at snmp.trap_spool_max_bytes), spool_error (a spool write failed).",
            ["reason"],
            [
                (["queue"], c.dropped),
                (["kernel"], c.kernel_dropped),
                (["spool_full"], c.dropped_spool_full),
                (["spool_error"], c.dropped_spool_error),
            ],
        ),
        counter(
            "netobs_traps_spooled_total",
            "Traps written to the spool (the memory queue full or the broker stalled), sent from there later.",
            [],
            [([], c.spooled)],
        ),
        *spool_families("netobs_traps", "traps", c.spool),
    ]


def spool_families(prefix: str, unit: str, s: SpoolStats) -> list[Metric]:
    """A receiver's spool: what it holds now, and what it found torn."""
    return [
        gauge(
            f"{prefix}_spool_bytes",
            "Bytes of spool segment files on disk (the bound applies to this).",
            [],
            [([], s.bytes)],
        ),
        gauge(f"{prefix}_spool_records", "Kafka records in the spool not yet acknowledged.", [], [([], s.records)]),
        gauge(f"{prefix}_spool_{unit}", f"Their {unit}.", [], [([], s.lines)]),
        counter(
            f"{prefix}_spool_torn_total",
            "Torn or damaged records found in the spool (a crash mid-write); each ends its segment's reading.",
            [],
            [([], s.torn)],
        ),
    ]


def poller_families(c: PollerCounters) -> list[Metric]:
    """The poller."""
    for refresh in c.refreshers:
        refresh()
    return [
        counter("netobs_poller_due_total", "Poll slots reached (each polling once per interval).", [], [([], c.due)]),
        counter(
            "netobs_polls_total",
            "Polls done, by outcome (ok, fail, unknown).",
            ["outcome"],
            (([o], getattr(c, o)) for o in ("ok", "fail", "unknown")),
        ),
        counter(
            "netobs_polls_late_total",
            "Polls that started later than 5 % of their interval after their slot.",
            [],
            [([], c.late)],
        ),
        counter(
            "netobs_polls_not_run_total",
            "Slots not run, by reason: busy (the previous run still going), orphaned (node not in the inventory).",
            ["reason"],
            [(["busy"], c.skipped), (["orphaned"], c.orphaned)],
        ),
        counter("netobs_poller_published_total", "Poll results acknowledged by Kafka.", [], [([], c.published)]),
        counter(
            "netobs_poller_dropped_total", "Poll results lost (Kafka queue full or failing).", [], [([], c.dropped)]
        ),
        counter(
            "netobs_poller_inventory_records_total",
            "Inventory records read, by outcome (ok, undecodable).",
            ["outcome"],
            [(["ok"], c.inventory_events), (["undecodable"], c.inventory_errors)],
        ),
    ]
