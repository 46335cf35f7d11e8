"""`netobs status` with the node down: it says so (exit 3) and still shows retention, disk use and the last
errors of every service, newest last."""

from __future__ import annotations

import io

from netobs import config as config_mod
from netobs import status
from tests import brokers


def test_a_stopped_node_still_shows_disk_retention_and_errors(tmp_path):
    port = brokers.free_port()  # nothing listens there
    env = {"NETOBS_DATA_DIR": str(tmp_path), "NETOBS_METRICS_PORT": str(port), "NETOBS_CLICKHOUSE_RETENTION_DAYS": "30"}
    config = config_mod.load(None, env)
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "segment.log").write_bytes(b"x" * 300_000)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "errors-node.log").write_text("2026-12-04 10:00:02,000 ERROR   netobs: second\n")
    (logs / "errors-ingest.log").write_text(
        "2026-12-04 10:00:01,000 WARNING netobs.ingest: first\nTraceback line without a time\n"
        "2026-12-04 10:00:03,000 ERROR   netobs.ingest: third\n"
    )
    out = io.StringIO()
    assert status.run(config, out, interval=0.1) == status.NOT_RUNNING
    text = out.getvalue()
    assert f"node is not running: nothing answers on http://127.0.0.1:{port}/metrics" in text
    assert "retention: ClickHouse 30 days; Kafka topics 168 h" in text
    kafka_line = next(line for line in text.splitlines() if line.strip().startswith("kafka "))
    assert "0.3 MB" in kafka_line
    errors = text.split("last errors:", 1)[1].strip().splitlines()
    assert [e.rsplit(": ", 1)[1] for e in errors] == ["first", "second", "third"]


def test_metrics_off_cannot_tell(tmp_path):
    config = config_mod.load(None, {"NETOBS_DATA_DIR": str(tmp_path), "NETOBS_METRICS_PORT": "0"})
    out = io.StringIO()
    assert status.run(config, out) == status.NOT_RUNNING
    assert "the metrics endpoint is off (NETOBS_METRICS_PORT=0)" in out.getvalue()
    assert "last errors: none logged" in out.getvalue()
