"""The worker's Prometheus families: rows stored and insert latency per table (timed in clickhouse_writer),
how long records took to be stored, consumer lag per partition, undecodable and redelivered records per
topic."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric

from common.metrics import counter, gauge
from processors.projector import Projector

INSERTS = CollectorRegistry(auto_describe=True)
"""The insert and store timings of this process: ClickHouse inserts happen in worker threads, and a histogram
is the one kind of state the counters of the projectors do not already keep."""
INSERT_SECONDS = Histogram(
    "netobs_clickhouse_insert_seconds",
    "Time of one columnar ClickHouse insert, by table.",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=INSERTS,
)
STORE_DELAY_SECONDS = Histogram(
    "netobs_worker_store_delay_seconds",
    "From a record's broker time to its rows being stored (queryable), by topic; one observation per record.",
    ["topic"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
    registry=INSERTS,
)
ROWS_INSERTED = Counter(
    "netobs_clickhouse_rows_inserted_total", "Rows inserted into ClickHouse, by table.", ["table"], registry=INSERTS
)


def worker_families(projectors: Mapping[str, Projector], lag: Mapping[tuple[str, int], int]) -> list[Metric]:
    """Per-topic counts of the projectors, and lag by (topic, partition) of the partitions held."""
    return [
        *INSERTS.collect(),
        counter(
            "netobs_worker_rows_stored_total",
            "Rows the worker's projectors stored, by source topic.",
            ["topic"],
            (([t], p.rows_stored) for t, p in projectors.items()),
        ),
        counter(
            "netobs_worker_records_undecodable_total",
            "Topic records that could not be decoded (logged and skipped), by topic.",
            ["topic"],
            # The syslog projector has none: a raw record it cannot read is stored as one row saying so.
            (([t], getattr(p, "records_undecodable", 0)) for t, p in projectors.items()),
        ),
        counter(
            "netobs_worker_records_redelivered_total",
            "Records skipped because they were stored already (redelivery after a restart or rebalance), by topic.",
            ["topic"],
            (([t], getattr(p, "records_skipped", 0)) for t, p in projectors.items()),
        ),
        gauge(
            "netobs_worker_parse_process_resident_bytes",
            "Resident memory of each parse process (worker.parse_processes), by index.",
            ["index"],
            (([str(i)], n) for p in projectors.values() for i, n in sorted(getattr(p, "parse_memory", dict)().items())),
        ),
        gauge(
            "netobs_worker_consumer_lag",
            "Records in the topic not yet handled by this worker, per partition it holds (from the high watermark).",
            ["topic", "partition"],
            (([t, str(p)], n) for (t, p), n in sorted(lag.items())),
        ),
    ]
