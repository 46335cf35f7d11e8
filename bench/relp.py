"""RELP under fire: real rsyslog sends numbered lines through omrelp to `netobs ingest`, SIGKILLed twice.

Three runs against one Apache Kafka broker (KRaft, in a scratch directory), each with a fresh rsyslog
(private root from scripts/rsyslog_private.sh, imptcp in, an in-memory action queue, omrelp out, retried
forever) and a fresh `netobs ingest` with only its RELP receiver:

  unpaced   --count lines fed to rsyslog as fast as it takes them, no kill: what RELP carries at most
            (every frame answered only after the broker acknowledged its line; rsyslog keeps 1024 frames
            unanswered).
  paced     --count lines at --rate lines/s, no kill: the baseline of the next run.
  killed    the same, with the receiver SIGKILLed at a third and two thirds of the sending time and
            started again at once: lines lost (must be 0) and stored twice (sent again by rsyslog because
            their answer died with the receiver), and the time to deliver everything against paced.

Lines are counted in the raw topic (the projections store each raw record once, see
tests/integration/test_worker_exactly_once.py). The last line printed is one JSON object.

    .venv/bin/python bench/relp.py [--count 100000] [--rate 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import brokers
from tests.brokers import Cluster
from tests.rsyslog import DEFAULT_ROOT, SETUP, find_root, relp_kill_run


def _run(name: str, broker: Cluster, work: Path, count: int, rate: int, kills: int) -> dict[str, float | int]:
    found, seconds = relp_kill_run(broker, work / name, count, per_second=rate, kills=kills)
    figures: dict[str, float | int] = {
        "lost": count - len(set(found) & set(range(count))),
        "duplicates": sum(found.values()) - len(found),
        "seconds": round(seconds, 2),
        "lines_per_s": round(count / seconds),
    }
    print(f"{name:8} {figures}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=10_000, help="lines/s of the paced and killed runs")
    args = parser.parse_args()
    if find_root() is None:
        print(f"no rsyslog with omrelp under $NETOBS_RSYSLOG_ROOT or {DEFAULT_ROOT}: run {SETUP}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="netobs-bench-relp-"))
    port = brokers.free_port()
    kafka = brokers.start_apache_kafka(port, work / "kafka")
    try:
        unpaced = _run("unpaced", kafka, work, args.count, 0, kills=0)
        paced = _run("paced", kafka, work, args.count, args.rate, kills=0)
        killed = _run("killed", kafka, work, args.count, args.rate, kills=2)
    finally:
        brokers.stop(kafka.proc)
    result = {
        "count": args.count,
        "rate": args.rate,
        "unpaced": unpaced,
        "paced": paced,
        "killed": killed,
        "killed_vs_paced_seconds": round(float(killed["seconds"]) / float(paced["seconds"]), 2),
        "work": str(work),
    }
    print(json.dumps(result), flush=True)
    return 0 if killed["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
