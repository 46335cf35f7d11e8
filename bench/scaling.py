"""Worker scaling: stored syslog lines/s with the parsing in the worker itself (0) and in 1, 2 and 4 parse
processes, against Apache Kafka (authenticated, as `netobs run` starts it) and the embedded ClickHouse.

The raw topic is filled once with --lines realistic lines (bench/_common.syslog_lines: 86 templates, 12
hosts) in records of --record-lines lines, as `netobs ingest` batches them, spread over the topic's 4
partitions. Then each configuration runs in a fresh process of its own (one chdb store per process for
life), with a fresh store and consumer group, and drains the whole topic: a worker started as single-node
mode starts it, reading from the earliest offset. Configurations alternate within each of --reps rounds
(the order reverses every round: the machine is noisy), and medians are reported.

Per run: lines/s from the first row stored until every line is stored (the steady rate, Faust's start and
the group's rebalance excluded) and from the worker's start; CPU seconds per 1,000 lines of the worker
process and of its parse processes; their peak RSS (the parse processes' sampled at every poll). Lines
missing or stored twice are counted (expected 0).

Then the CPU cost of each part of a line's way in one process, on the same lines (for the README's model of
16 workers and a ClickHouse server): decode, parse, mine, a record to columns (parse + mine + the
raw split, warm token memo), encode Native blocks, and the engine's insert. The last line printed is one JSON object.

    .venv/bin/python bench/scaling.py [--lines 400000] [--processes 0,1,2,4] [--reps 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

REPO = Path(__file__).resolve().parent.parent


def _records(lines: list[bytes], per_record: int, partitions: int) -> list[tuple[int, bytes]]:
    """(partition, value) of raw syslog records holding lines, round-robin over partitions."""
    from schemas import raw_syslog

    now = time.time_ns()
    out = []
    for n, start in enumerate(range(0, len(lines), per_record)):
        chunk = lines[start : start + per_record]
        batch = raw_syslog.RawBatch(
            version=1,
            transport="udp",
            received_ns=[now] * len(chunk),
            sources=[f"10.1.0.{n % partitions}"] * len(chunk),
            lines=chunk,
            flags=[0] * len(chunk),
        )
        out.append((n % partitions, raw_syslog.encode(batch)))
    return out


async def _fill(access: Any, records: list[tuple[int, bytes]]) -> None:
    from common import kafka_client
    from schemas.topics import SYSLOG_RAW

    producer = kafka_client.producer(access, max_request_size=16 * 1024 * 1024, linger_ms=20)
    await producer.start()
    try:
        pending = [await producer.send(SYSLOG_RAW, value, partition=partition) for partition, value in records]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """In a process of its own: a worker with NETOBS_WORKER_PARSE_PROCESSES from the environment drains the
    topic into a fresh store; the figures of that run."""
    from common.clickhouse import connect
    from netobs.config import load

    common.quiet_logs()
    config = load(environ=dict(os.environ))
    began = time.monotonic()
    worker = common.in_process_worker(config)
    started = time.monotonic()
    cpu_start = time.process_time()
    client = connect(config.clickhouse_dsn)
    first = None
    rows = 0
    deadline = started + args.timeout
    parse_rss = 0
    while rows < args.lines and time.monotonic() < deadline:
        time.sleep(0.05)
        parse_rss = max(
            parse_rss, *(int(common.rss_mb(child.pid) or 0) for child in multiprocessing.active_children()), 0
        )
        rows = int(client.query("SELECT count() FROM netobs.syslog").result_rows[0][0])
        if rows and first is None:
            first = time.monotonic()
    done = time.monotonic()
    cpu_worker = time.process_time() - cpu_start
    unique = int(
        client.query("SELECT uniqExact(kafka_partition, kafka_offset, line_no) FROM netobs.syslog").result_rows[0][0]
    )
    client.close()
    worker.stop()  # the parse processes end here, so their CPU and RSS are counted as children's
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Steady only when the drain spanned several polls (else the first poll saw everything).
    steady = done - (first or done) if (first or done) < done - 0.5 else 0.0
    return {
        "parse_processes": config.worker.parse_processes,
        "stored": rows,
        "missing": max(0, args.lines - rows),
        "duplicates": rows - unique,
        "steady_lines_per_s": round(args.lines / steady) if steady > 0 and rows >= args.lines else None,
        "lines_per_s_from_start": round(rows / (done - started)) if done > started else None,
        "seconds_to_first_row": round((first or done) - started, 2),
        "start_seconds": round(started - began, 2),
        "worker_cpu_s_per_1k": round(cpu_worker / rows * 1000, 4) if rows else None,
        "parse_cpu_s_per_1k": round((children.ru_utime + children.ru_stime) / rows * 1000, 4) if rows else None,
        "worker_rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "parse_rss_peak_mb": parse_rss,
    }


def part_costs(lines: list[bytes], work: Path) -> dict[str, float]:
    """µs per line of each step of the worker's path, in one process, on lines (a fresh store in work)."""
    from common import clickhouse, migrations
    from processors import clickhouse_writer, native_format
    from processors.syslog import masking
    from processors.syslog.miner import Miner
    from processors.syslog.parse import mining_text, parse
    from processors.syslog.rows import record_columns
    from schemas import raw_syslog
    from schemas.tables import SYSLOG

    records = [value for _, value in _records(lines, 1000, 1)]
    n = len(lines)

    def timed(fn: Any) -> float:
        """CPU µs per line (every thread of this process, the engine's too): what a core spends, however
        loaded the machine is."""
        began = time.process_time()
        fn()
        return (time.process_time() - began) / n * 1e6

    now = time.time_ns()
    parsed = [parse(line, now, "10.1.0.1") for line in lines]
    texts = [mining_text(p) for p in parsed]
    client = clickhouse.connect(f"chdb://{work / 'parts-store'}")
    migrations.apply(client, "netobs", 30)
    types = clickhouse_writer.column_types(client, "netobs", SYSLOG)
    columns = [record_columns(v, 0, o, now, Miner()) for o, v in enumerate(records)]
    payloads: list[bytes] = []

    def mine_all() -> None:
        masking.clear_memo()  # cold, as a fresh process starts
        miner = Miner()
        for text in texts:
            miner.add(text, now)

    costs = {
        "decode_us": timed(lambda: [raw_syslog.decode(v) for v in records]),
        "parse_us": timed(lambda: [parse(line, now, "10.1.0.1") for line in lines]),
        "mine_us": timed(mine_all),
        "record_to_columns_us": timed(lambda: [record_columns(v, 0, o, now, Miner()) for o, v in enumerate(records)]),
        "encode_us": timed(lambda: payloads.extend(native_format.encode(c, types) for c in columns)),
    }
    # As the worker inserts: a batch of up to 200 records in one insert (here 100 records, 100,000 lines).
    groups = [
        (b"".join(payloads[i : i + 100]), sum(len(c["message"]) for c in columns[i : i + 100]))
        for i in range(0, len(payloads), 100)
    ]

    def insert_all() -> None:
        for payload, rows in groups:
            clickhouse_writer.insert_native(client, "netobs", SYSLOG, types, payload, rows)

    costs["insert_us"] = timed(insert_all)
    client.close()
    return {k: round(v, 2) for k, v in costs.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=400_000, help="lines in the topic (default 400000)")
    parser.add_argument("--record-lines", type=int, default=1000, help="lines per Kafka record (default 1000)")
    parser.add_argument("--processes", default="0,1,2,4", help="parse processes to compare (default 0,1,2,4)")
    parser.add_argument("--reps", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="longest wait for one drain (s)")
    parser.add_argument("--no-parts", action="store_true", help="skip the per-part costs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)  # one configuration, in a child
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run:
        print(json.dumps(run_one(args)))
        return 0
    counts = [int(p) for p in args.processes.split(",")]
    work = common.scratch_dir("netobs-scaling-")
    lines = common.syslog_lines(args.lines, seed=5)
    runs: list[dict[str, Any]] = []
    with common.kafka(work) as broker:
        common.say(f"filling the raw topic with {args.lines:,} lines")
        asyncio.run(_fill(broker.admin, _records(lines, args.record_lines, 4)))
        for rep in range(args.reps):
            for processes in counts if rep % 2 == 0 else list(reversed(counts)):
                tag = uuid.uuid4().hex[:8]
                env = common.netobs_env(
                    broker,
                    work / f"data-{tag}",
                    NETOBS_CLICKHOUSE=f"chdb://{work / f'store-{tag}'}",
                    NETOBS_WORKER_GROUP_ID=f"bench-scaling-{tag}",
                    NETOBS_WORKER_PARSE_PROCESSES=str(processes),
                    NETOBS_LOG_LEVEL="WARNING",
                )
                out = subprocess.run(
                    [sys.executable, __file__, "--run", "--lines", str(args.lines), "--timeout", str(args.timeout)],
                    env=env,
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    sys.stderr.write(out.stderr[-4000:])
                    raise SystemExit(f"the run with {processes} parse processes failed")
                run = json.loads(out.stdout.strip().splitlines()[-1])
                run["rep"] = rep
                runs.append(run)
                common.say(
                    f"rep {rep} parse_processes={processes}: {run['steady_lines_per_s']} lines/s steady, "
                    f"{run['lines_per_s_from_start']} from start; cpu/1k lines worker {run['worker_cpu_s_per_1k']} s "
                    f"+ parse {run['parse_cpu_s_per_1k']} s; missing {run['missing']}, duplicates {run['duplicates']}"
                )
    summary: dict[str, Any] = {}
    for processes in counts:
        mine = [r for r in runs if r["parse_processes"] == processes]
        rates = [r["steady_lines_per_s"] or 0 for r in mine]
        summary[str(processes)] = {
            "steady_lines_per_s": round(statistics.median(rates)),
            "lines_per_s_from_start": round(statistics.median(r["lines_per_s_from_start"] or 0 for r in mine)),
            "worker_cpu_s_per_1k": statistics.median(r["worker_cpu_s_per_1k"] or 0 for r in mine),
            "parse_cpu_s_per_1k": statistics.median(r["parse_cpu_s_per_1k"] or 0 for r in mine),
            "worker_rss_peak_mb": max(r["worker_rss_peak_mb"] for r in mine),
            "parse_rss_peak_mb": max(r["parse_rss_peak_mb"] for r in mine),
        }
    base = summary[str(counts[0])]["steady_lines_per_s"] or 1
    result: dict[str, Any] = {
        "bench": "scaling",
        "broker": common.BROKER,
        "lines": args.lines,
        "cores": os.cpu_count(),
        "by_parse_processes": summary,
        "ratio_vs_first": {k: round(v["steady_lines_per_s"] / base, 2) for k, v in summary.items()},
        "missing": sum(r["missing"] for r in runs),
        "duplicates": sum(r["duplicates"] for r in runs),
        "runs": runs,
    }
    if not args.no_parts:
        common.say("per-part costs in one process")
        result["part_costs_us_per_line"] = part_costs(lines[:100_000], work)
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
