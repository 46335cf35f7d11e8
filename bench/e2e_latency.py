"""End to end: how long from sending a syslog line until it can be queried (target: p99 < 5 s).

The pipeline as single-node mode runs it: Apache Kafka, `netobs ingest` as a child process,
and in this process the Faust worker writing embedded ClickHouse (chdb) plus the MCP service. A paced
sender (bench/_common.py, its own process) sends --rate lines/s over UDP for --seconds; every line carries
its sequence number and the wall-clock time it was sent (`seq=N sent=T`).

Every --poll seconds this process asks ClickHouse for the rows stored since the last poll (by Kafka
offset) and marks each line visible at the time that query was issued: latency = visible - sent. A line
visible at time v is seen at the first poll after v, so figures are high by up to one poll interval
(--poll). received_at - sent (the receiver's share) is reported beside it. With --mcp-every > 0 a second
thread also asks the MCP tool search_syslog (mcp SDK client, Streamable HTTP) for the newest lines, and
reports how old the newest line an agent can see is (staleness).

Product defaults apply (ingest batch_ms, worker batch_records/batch_seconds); NETOBS_* variables set in
the environment override them as usual. The last line printed is one JSON object.

    .venv/bin/python bench/e2e_latency.py [--rate 10000] [--seconds 25] [--poll 0.15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

TOKEN = "bench-e2e-token-" + uuid.uuid4().hex[:16]
WINDOW_SECONDS = 5
"""Latency percentiles are also given per window of send time, to show whether they drift."""


@dataclass
class Seen:
    """What the poller has found: per sequence number, when it was sent, received and became visible."""

    sent: dict[int, float] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    visible: dict[int, float] = field(default_factory=dict)
    watermark: dict[int, int] = field(default_factory=dict)
    """Per Kafka partition, the highest offset seen: each poll reads from there on."""
    polls: int = 0
    poll_ms: list[float] = field(default_factory=list)


# --- polling ClickHouse ----------------------------------------------------------------------------


def new_rows_sql(watermark: dict[int, int]) -> str:
    """Rows at or after each partition's watermark (the record at it may have been read in part)."""
    known = " OR ".join(f"(kafka_partition = {p} AND kafka_offset >= {o})" for p, o in sorted(watermark.items()))
    unknown = f"kafka_partition NOT IN ({', '.join(str(p) for p in sorted(watermark))})" if watermark else "1"
    where = f"({known}) OR ({unknown})" if known else unknown
    return (
        "SELECT kafka_partition, kafka_offset, toUInt64OrZero(extract(raw, 'seq=([0-9]+)')), "
        "toFloat64OrZero(extract(raw, 'sent=([0-9.]+)')), toUnixTimestamp64Micro(received_at) "
        f"FROM netobs.syslog WHERE {where}"
    )


def poll_once(client: Any, seen: Seen, since: float) -> int:
    """One poll: record lines sent at or after `since` that are new; returns how many."""
    asked = time.time()
    rows = client.query(new_rows_sql(seen.watermark)).result_rows
    seen.poll_ms.append((time.time() - asked) * 1000)
    seen.polls += 1
    new = 0
    for partition, offset, seq, sent, received_us in rows:
        seen.watermark[int(partition)] = max(seen.watermark.get(int(partition), -1), int(offset))
        if sent < since or seq in seen.visible:
            continue
        seen.visible[seq] = asked
        seen.sent[seq] = sent
        seen.received[seq] = received_us / 1e6
        new += 1
    return new


def skip_existing(client: Any, seen: Seen) -> None:
    """Start the watermarks after what is stored now (the warm-up lines)."""
    rows = client.query("SELECT kafka_partition, max(kafka_offset) FROM netobs.syslog GROUP BY kafka_partition")
    seen.watermark = {int(p): int(o) + 1 for p, o in rows.result_rows}


# --- MCP probes ------------------------------------------------------------------------------------


@dataclass
class McpProbe:
    """Asks search_syslog for the newest lines every `every` seconds in a thread of its own."""

    url: str
    every: float
    staleness: list[float] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    newest_seq: int = -1
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, since: float) -> None:
        while not self._stop.wait(self.every):
            self.probe(since)

    def probe(self, since: float) -> None:
        from tests.integration.pipeline import call

        args = {"message_filter": "seq=[0-9]+ sent=", "start_time": "-10m", "limit": 100, "newest_first": True}
        asked = time.time()
        try:
            rows = asyncio.run(call(self.url, "search_syslog", args, token=TOKEN))
        except Exception as exc:
            self.errors.append(repr(exc)[:200])
            return
        self.call_ms.append((time.time() - asked) * 1000)
        stamps = [parse_stamp(row.get("Message", "")) for row in rows]
        stamps = [s for s in stamps if s is not None and s[1] >= since]
        if stamps:
            seq, sent = max(stamps)
            self.newest_seq = max(self.newest_seq, seq)
            self.staleness.append(asked - sent)

    def stop(self) -> None:
        self._stop.set()


def parse_stamp(message: str) -> tuple[int, float] | None:
    """(seq, sent) from a line's message, or None."""
    try:
        seq_part, sent_part = message.split(" ", 2)[:2]
        return int(seq_part.removeprefix("seq=")), float(sent_part.removeprefix("sent="))
    except ValueError:
        return None


# --- the pipeline -------------------------------------------------------------------------------------


@contextmanager
def pipeline(work: Path) -> Iterator[tuple[Any, Any, common.IngestProcess]]:
    """Broker, worker + MCP in this process, ingest child; yields (config, node, ingest)."""
    from netobs.config import load
    from tests.brokers import free_port
    from tests.integration.pipeline import worker_and_mcp

    data = work / "data"
    with common.kafka(work) as broker:
        env = common.netobs_env(
            broker,
            data,
            NETOBS_CLICKHOUSE=f"chdb://{data / 'clickhouse'}",
            NETOBS_WORKER_GROUP_ID=f"bench-e2e-{uuid.uuid4().hex[:8]}",
            NETOBS_MCP_PORT=str(free_port()),
            NETOBS_MCP_TOKEN=TOKEN,
        )
        config = load(environ=env)
        with worker_and_mcp(config) as node:
            ingest = common.IngestProcess(broker, data, common.free_port_pair(), work / "ingest.log")
            try:
                yield config, node, ingest
            finally:
                ingest.stop()


def warm_up(client: Any, port: int, lines: int) -> int:
    """Send a few lines and wait until they are stored: the worker owns its partitions and has mined once."""
    sent = common.run_sender("udp", port, 2_000, lines, stamp=True)
    deadline = time.monotonic() + 90
    rows = 0
    while time.monotonic() < deadline:
        rows = int(client.query("SELECT count() FROM netobs.syslog").result_rows[0][0])
        if rows >= sent["sent"]:
            break
        time.sleep(0.2)
    return rows


def measure(args: argparse.Namespace, client: Any, port: int, seen: Seen, probe: McpProbe | None) -> dict:
    """Send at the rate while polling; keep polling until every line is visible or --drain-timeout passes."""
    since = time.time()
    proc = common.start_sender("udp", port, args.rate, int(args.rate * args.seconds), stamp=True)
    thread = None
    if probe is not None:
        thread = threading.Thread(target=probe.run, args=(since,), daemon=True)
        thread.start()
    result = None
    deadline = None
    next_report = time.monotonic() + 5
    while True:
        started = time.monotonic()
        poll_once(client, seen, since)
        if result is None and proc.poll() is not None:
            result = common.finish_sender(proc, 30)
            deadline = time.monotonic() + args.drain_timeout
        if result is not None and (len(seen.visible) >= result["sent"] or time.monotonic() > deadline):
            break
        if time.monotonic() >= next_report:
            common.say(f"  {len(seen.visible):,} lines visible after {time.time() - since:.0f} s")
            next_report += 5
        time.sleep(max(0.0, args.poll - (time.monotonic() - started)))
    if probe is not None:
        probe.stop()
        thread.join(10)  # type: ignore[union-attr]
    return result


# --- figures ------------------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": common.rounded(common.percentile(values, 50)),
        "p90": common.rounded(common.percentile(values, 90)),
        "p99": common.rounded(common.percentile(values, 99)),
        "max": common.rounded(max(values)) if values else None,
        "mean": common.rounded(sum(values) / len(values)) if values else None,
    }


def by_window(seen: Seen, start: float, seconds: float) -> list[dict[str, Any]]:
    """p50/p99 of latency per WINDOW_SECONDS of send time (the last window takes the last few ms too)."""
    last = max(0, math.ceil(seconds / WINDOW_SECONDS) - 1)
    windows: dict[int, list[float]] = {}
    for seq, visible in seen.visible.items():
        index = min(last, int((seen.sent[seq] - start) // WINDOW_SECONDS))
        windows.setdefault(index, []).append(visible - seen.sent[seq])
    return [
        {
            "from_s": w * WINDOW_SECONDS,
            "lines": len(v),
            "p50": common.rounded(common.percentile(v, 50)),
            "p99": common.rounded(common.percentile(v, 99)),
        }
        for w, v in sorted(windows.items())
    ]


def figures(
    args: argparse.Namespace, config: Any, seen: Seen, sent: dict, probe: McpProbe | None, counters: dict
) -> dict[str, Any]:
    latency = [seen.visible[s] - seen.sent[s] for s in seen.visible]
    receive = [seen.received[s] - seen.sent[s] for s in seen.visible]
    store = [seen.visible[s] - seen.received[s] for s in seen.visible]
    missing = sent["sent"] - len(seen.visible)
    lat = stats(latency)
    return {
        "benchmark": "e2e_latency",
        "params": {
            "rate": args.rate,
            "seconds": args.seconds,
            "warmup_lines": args.warmup_lines,
            "poll_s": args.poll,
            "transport": "udp",
            "broker": common.BROKER,
            "ingest_batch_lines": config.syslog.batch_lines,
            "ingest_batch_ms": config.syslog.batch_ms,
            "worker_batch_records": config.worker.batch_records,
            "worker_batch_seconds": config.worker.batch_seconds,
            "kafka_partitions": config.kafka.partitions,
        },
        "sent": sent["sent"],
        "sent_per_s": round(sent["rate"]),
        "visible": len(seen.visible),
        "missing": missing,
        "netobs": netobs_counters(counters, sent["sent"] + args.warmup_lines),
        "latency_s": lat,
        "send_to_receive_s": stats(receive),
        "receive_to_queryable_s": stats(store),
        "latency_by_window": by_window(seen, sent["start"], args.seconds),
        "target_p99_s": args.target_p99,
        "meets_target": lat["p99"] is not None and lat["p99"] < args.target_p99 and missing == 0,
        "ratio_p99_to_target": common.rounded(lat["p99"] / args.target_p99) if lat["p99"] is not None else None,
        "clickhouse_polls": seen.polls,
        "clickhouse_poll_ms_p50": common.rounded(common.percentile(seen.poll_ms, 50), 1),
        "mcp": mcp_figures(probe),
    }


def netobs_counters(counters: dict, offered: int) -> dict[str, int | None]:
    """The receiver's own counters (warm-up lines included) and the lines it did not get into Kafka."""
    udp = counters.get("udp", {})
    delivered = udp.get("delivered")
    return {
        "offered_incl_warmup": offered,
        "received": udp.get("received"),
        "delivered_to_kafka": delivered,
        "dropped": udp.get("dropped"),
        "kernel_dropped": udp.get("kernel_dropped"),
        "lost": offered - delivered if delivered is not None else None,
    }


def mcp_figures(probe: McpProbe | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    return {
        "probes": len(probe.call_ms),
        "every_s": probe.every,
        "staleness_s": stats(probe.staleness),
        "call_ms_p50": common.rounded(common.percentile(probe.call_ms, 50), 1),
        "newest_seq_seen": probe.newest_seq,
        "errors": probe.errors[:3],
    }


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=10_000, help="lines/s offered over UDP (default 10000)")
    parser.add_argument("--seconds", type=float, default=25.0, help="how long to send (default 25)")
    parser.add_argument("--poll", type=float, default=0.15, help="ClickHouse poll interval, s (default 0.15)")
    parser.add_argument(
        "--mcp-every", type=float, default=1.0, help="MCP search_syslog probe interval, s (0: no probes)"
    )
    parser.add_argument("--target-p99", type=float, default=5.0, help="target p99 latency, s (default 5)")
    parser.add_argument(
        "--drain-timeout", type=float, default=30.0, help="after sending, longest wait for the rest (s)"
    )
    parser.add_argument("--warmup-lines", type=int, default=1000, help="sent and stored before measuring")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, chdb)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.exit_on_sigterm()
    common.quiet_logs()
    from common.clickhouse import connect

    work = common.scratch_dir("netobs-bench-e2e-")
    common.say(f"e2e: {args.rate:,} lines/s for {args.seconds:g} s over UDP; scratch {work}")
    try:
        with pipeline(work) as (config, node, ingest):
            client = connect(config.clickhouse_dsn)
            rows = warm_up(client, ingest.port, args.warmup_lines)
            common.say(f"e2e: warm-up stored {rows:,} rows; measuring")
            seen = Seen()
            skip_existing(client, seen)
            probe = McpProbe(node.url, args.mcp_every) if args.mcp_every > 0 else None
            sent = measure(args, client, ingest.port, seen, probe)
            client.close()
        result = figures(args, config, seen, sent, probe, ingest.counters)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    lat = result["latency_s"]
    common.say(
        f"e2e: {result['visible']:,}/{result['sent']:,} lines queryable; latency p50 {lat['p50']} s, "
        f"p99 {lat['p99']} s, max {lat['max']} s (target p99 < {args.target_p99:g} s)"
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
