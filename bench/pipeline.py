"""End to end, sustained: what a single node (`netobs run`, as `make run` runs it) stores, beside syslog-ng.

Three parts, on 127.0.0.1 only (issue 13, goals 1, 3 and 6):

1. Highest sustained stored rate. A paced sender (its own process, sendmmsg) offers a constant rate of
   realistic lines (the 86-template corpus of bench/corpus.py) over UDP for --seconds, from --sources local
   addresses (127.0.0.x, chosen to cover every Kafka partition, as many devices would). Every line carries
   a unique sequence number and its send time (`seq=N sent=T`, stamped into a prebuilt ring just before each
   sendmmsg). netobs: a fresh `netobs run` per step (fresh data directory, its own embedded Kafka and chdb),
   warmed up with a few lines, then the load; stored rows are counted through the node's read-only ClickHouse
   HTTP endpoint (a named token with read:sql: the only process that may open the embedded store is the
   node's). stored lines/s = lines sent / (first line sent -> all of them queryable); missing and stored-twice
   lines are counted by sequence number at the end of the step. syslog-ng: `syslog-ng -F` with a UDP source
   (the same 32 MiB buffer) and one file destination, the same load; its lines are counted in the file as it
   grows. A step passes (the rate is sustained) when every line is there, none twice (netobs), within a grace
   of max(5 s, 10 % of --seconds) after the last line was sent, and lines/s >= --min-ratio (0.95) x the
   offered rate.
   Rates: from --start-rate doubling until a step fails, then halving the gap until it is within
   --resolution (or --rates, a list tried upwards until the first failure); netobs and syslog-ng steps
   alternate (which goes first too: the machine is noisy). stored_ratio = netobs / syslog-ng highest
   sustained lines/s.
2. Receive-to-queryable latency at half netobs's highest sustained rate, for --latency-seconds, on a fresh
   node: every --poll seconds one query returns the rows stored since the last poll (by Kafka offset),
   grouped by send time in 20 ms buckets; a line is queryable at the time that query's answer came back, so
   the figures are high by up to one poll interval plus the query's own time (reported: the node answers
   from the process that also runs the worker) and up to 10 ms of bucket. Measured from the send time in
   the line (the receive time, stamped by the receiver, follows it within the reported send_to_receive).
3. Memory under overload, on the same node: twice the highest sustained rate for --overload-seconds, RSS of
   every process of the node (the node process, the broker's JVM, ingest, traps, poller, executor and any
   child, found by the process tree of the `netobs run` pid, /proc) every second, until --settle seconds
   after the load ends; peaks per process, RSS at the end, a timeline every 5 s, and what the receivers shed
   and counted and the backlog left in the broker (the node's /metrics endpoint: a token with `metrics`).

--parse-processes N sets NETOBS_WORKER_PARSE_PROCESSES for every node started (unset: the product default),
so one script measures the worker before and after its parse-and-mine pool.
Progress lines first; the last line printed is one JSON object.

    .venv/bin/python bench/pipeline.py [--seconds 60] [--start-rate 20000] [--parse-processes N]
    .venv/bin/python bench/pipeline.py --seconds 15 --rates 10000,20000 --latency-seconds 15 --overload-seconds 15
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

SEQ_DIGITS = 10
SENT_CHARS = 17
"""`%17.6f` of a Unix time: 10 digits, a point, 6 digits."""
SENT_AFTER_SEQ = SEQ_DIGITS + len(" sent=")
WARMUP_SEQ = 9_000_000_000
"""Warm-up lines are numbered from here (`seq=9...`); measured lines from 0 (`seq=0...`)."""
OVERLOAD_SEQ = 500_000_000
BUCKETS_PER_S = 50
"""Latency: send times are grouped in buckets of 1/50 s by the query (it may return at most 10,000 rows)."""
WINDOW_SECONDS = 10
"""Latency percentiles are also given per 10 s of send time, to show a stall apart from a steady delay."""
START_SECONDS = 300
TOKEN_NAME = "bench"
UDP_BUFFER = 32 * 1024 * 1024
"""What netobs's UDP receiver asks for (ingest/udp.py); syslog-ng's so-rcvbuf() gets the same."""
RECEIVERS = ("netobs", "syslog-ng")


# --- the sender (child process: `pipeline.py send ...`) ---------------------------------------------------


def ring_lines(count: int, seed: int) -> tuple[list[bytes], list[int]]:
    """count realistic lines with room for `seq=<10 digits> sent=<17 chars>`, and where each seq field
    starts in the lines joined end to end."""
    now = time.time()
    lines, offsets, at = [], [], 0
    for i, (tag, message) in enumerate(common.bodies(count, seed)):
        head = f"{common._header(i, tag, now)}[{1000 + i % 5000}]: seq="
        line = f"{head}{0:0{SEQ_DIGITS}d} sent={0.0:{SENT_CHARS}.6f} {message}".encode()
        offsets.append(at + len(head.encode()))
        lines.append(line)
        at += len(line)
    return lines, offsets


def send(port: int, rate: float, count: int, sources: list[str], seq_start: int, seed: int) -> dict[str, Any]:
    """count lines to 127.0.0.1:port at rate lines/s, slices taking turns over one socket per source address;
    each line numbered seq_start.. and stamped with the time its slice went out."""
    socks = []
    for address in sources:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.bind((address, 0))
        sock.connect((common.HOST, port))
        socks.append(sock)
    lines, offsets = ring_lines(min(count, common.RING_LINES), seed)
    ring = common.MmsgRing(socks[0], lines)
    buf = ring.buffer()

    def number_and_stamp(position: int, n: int, done: int) -> None:
        stamp = b"%17.6f" % time.time()
        for i in range(n):
            at = offsets[position + i]
            buf[at : at + SEQ_DIGITS] = b"%010d" % (seq_start + done + i)
            buf[at + SENT_AFTER_SEQ : at + SENT_AFTER_SEQ + SENT_CHARS] = stamp

    sent, failed, start = common.pace_ring(ring, rate, count, [s.fileno() for s in socks], number_and_stamp)
    end = time.time()
    for sock in socks:
        sock.close()
    seconds = max(end - start, 1e-9)
    return {"sent": sent, "errors": failed, "start": start, "end": end, "seconds": seconds, "rate": sent / seconds}


def send_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pipeline.py send", description="Numbered, time-stamped UDP sender.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--sources", required=True, help="local addresses, comma separated")
    parser.add_argument("--seq-start", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = send(args.port, args.rate, args.count, args.sources.split(","), args.seq_start, args.seed)
    print(json.dumps(result), flush=True)
    return 0


SENDERS: list[subprocess.Popen[str]] = []


def start_sender(port: int, rate: float, count: int, sources: list[str], seq_start: int) -> subprocess.Popen[str]:
    args = [sys.executable, str(Path(__file__).resolve()), "send", "--port", str(port), "--rate", str(rate)]
    args += ["--count", str(count), "--sources", ",".join(sources), "--seq-start", str(seq_start)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    SENDERS.append(proc)
    return proc


def source_addresses(count: int, partitions: int) -> list[str]:
    """count loopback addresses whose lines land on the Kafka partitions in turn (as many devices' would)."""
    from schemas.topics import partition_for

    chosen: list[str] = []
    candidates = [f"127.0.0.{i}" for i in range(10, 250)]
    for i in range(count):
        want = i % partitions
        address = next(a for a in candidates if a not in chosen and partition_for(a, partitions) == want)
        chosen.append(address)
    return chosen


# --- the node -------------------------------------------------------------------------------------------


LIVE: list[Node] = []


class Node:
    """`netobs run` as a child with a fresh data directory and free ports; a named token (read:sql, metrics)
    made before it starts; its ClickHouse HTTP endpoint and /metrics read with it."""

    def __init__(self, data: Path, parse_processes: int | None) -> None:
        import clickhouse_connect

        from tests import brokers
        from tests.integration.pipeline import add_token, wait_port

        self.data = data
        ports = {n: brokers.free_port() for n in ("kafka", "mcp", "relp", "traps", "clickhouse", "metrics")}
        self.syslog_port = common.free_port_pair()
        self.metrics_url = f"http://{common.HOST}:{ports['metrics']}/metrics"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_")}
        env.update(
            NETOBS_DATA_DIR=str(data),
            NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
            NETOBS_SYSLOG_UDP_PORT=str(self.syslog_port),
            NETOBS_SYSLOG_TCP_PORT=str(self.syslog_port),
            NETOBS_SYSLOG_RELP_PORT=str(ports["relp"]),
            NETOBS_SNMP_TRAP_PORT=str(ports["traps"]),
            NETOBS_MCP_PORT=str(ports["mcp"]),
            NETOBS_CLICKHOUSE_HTTP_PORT=str(ports["clickhouse"]),
            NETOBS_METRICS_PORT=str(ports["metrics"]),
            PYTHONUNBUFFERED="1",
        )
        if parse_processes is not None:
            env["NETOBS_WORKER_PARSE_PROCESSES"] = str(parse_processes)
        self.token = add_token(env, TOKEN_NAME, "read:sql", "metrics")
        started = time.monotonic()
        log_path = data / "run.log"
        self.proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, cwd=common.REPO_ROOT, env=env)
        LIVE.append(self)
        wait_port(ports["mcp"], self.proc, log_path, timeout=START_SECONDS)
        wait_port(ports["clickhouse"], self.proc, log_path, timeout=60)
        self.start_seconds = time.monotonic() - started
        self.client = clickhouse_connect.get_client(
            host=common.HOST, port=ports["clickhouse"], username=TOKEN_NAME, password=self.token
        )
        self.rss = common.RssSampler(self.proc.pid, 1.0, by_kind=False)
        self.missed_scrapes = 0

    def query(self, sql: str) -> list[Sequence[Any]]:
        return list(self.client.query(sql).result_rows)

    def count(self) -> int:
        return int(self.query("SELECT count() FROM syslog")[0][0])

    def metrics(self) -> dict[Any, float]:
        """One scrape of the node's endpoint; again (up to 3 times) while the receivers' process did not answer
        it (a busy node may miss a child's answer, and its counters would read as 0)."""
        from netobs import status

        samples: dict[Any, float] = {}
        for _ in range(3):
            samples = status.scrape(self.metrics_url, self.token) or {}
            if status.total(samples, "netobs_up", process="ingest") == 1:
                break
            self.missed_scrapes += 1
        return samples

    def stop(self) -> float:
        """SIGTERM (as Ctrl-C would), SIGKILL to what is left after 30 s; seconds it took."""
        self.rss.close()
        with contextlib.suppress(Exception):
            self.client.close()
        pids = common.process_tree(self.proc.pid)
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self in LIVE:
            LIVE.remove(self)
        return time.monotonic() - started


def cleanup() -> None:
    for proc in SENDERS:
        if proc.poll() is None:
            proc.kill()
    for node in list(LIVE):
        node.stop()


def warm_up(node: Node, sources: list[str], lines: int = 2000) -> None:
    """A few lines through, so the worker owns its partitions and has mined once before the clock runs."""
    common.finish_sender(start_sender(node.syslog_port, 2000, lines, sources, WARMUP_SEQ), 60)
    deadline = time.monotonic() + 120
    while node.count() < lines:
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm-up: {node.count()} of {lines} lines stored after 120 s")
        time.sleep(0.5)


# --- counters of the node's metrics ---------------------------------------------------------------------


def labelled(samples: dict[Any, float], name: str, *keys: str) -> dict[str, float]:
    from netobs import status

    return {"/".join(k): v for k, v in status.by_label(samples, name, *keys).items()}


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {k: round(v - before.get(k, 0.0)) for k, v in sorted(after.items()) if round(v - before.get(k, 0.0))}


def node_counters(before: dict[Any, float], after: dict[Any, float]) -> dict[str, Any]:
    """What the receivers took, handed to Kafka and shed (by transport/reason) between two scrapes, and the
    worker's lag now (Kafka records, per topic)."""
    from netobs import status

    def total(samples: dict[Any, float], name: str) -> float:
        return status.total(samples, name)

    return {
        "received": round(total(after, "netobs_syslog_received_total") - total(before, "netobs_syslog_received_total")),
        "accepted": round(total(after, "netobs_syslog_accepted_total") - total(before, "netobs_syslog_accepted_total")),
        "dropped": delta(
            labelled(after, "netobs_syslog_dropped_total", "transport", "reason"),
            labelled(before, "netobs_syslog_dropped_total", "transport", "reason"),
        ),
        "consumer_lag_records": {
            k: round(v) for k, v in labelled(after, "netobs_worker_consumer_lag", "topic").items()
        },
    }


# --- one step: a receiver at a rate for --seconds --------------------------------------------------------


@dataclass
class Step:
    receiver: str
    rate: int
    sent: int = 0
    offered_per_s: float = 0.0
    stored: int = 0
    missing: int = 0
    """Sent but not stored when the step ended (netobs: in the broker or lost; see extra)."""
    duplicates: int | None = None
    all_stored_s: float | None = None
    """From the first line sent until every line was there (None: not within the grace)."""
    backlog_s: float | None = None
    """From the last line sent until every line was there."""
    lines_per_s: float | None = None
    stored_per_s_while_sending: float | None = None
    """The slope while the sender ran (after its first 10 %): what the receiver kept up with."""
    sustained: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    args: argparse.Namespace
    work: Path
    sources: list[str]
    syslog_ng_version: str
    grace: float
    index: int = 0


def follow(ctx: Context, port: int, rate: int, counted: Callable[[], int], step: Step) -> list[tuple[float, int]]:
    """Send for --seconds while polling counted() (lines there so far); stop once all sent lines are there or
    the grace after the last one passed. Fills the step's timing figures; returns the (time, lines) series."""
    count = int(rate * ctx.args.seconds)
    proc = start_sender(port, rate, count, ctx.sources, 0)
    series: list[tuple[float, int]] = []
    result: dict[str, Any] | None = None
    deadline = math.inf
    while True:
        asked = time.time()
        n = counted()
        series.append((time.time(), n))  # the answer's time: the lines were there by then
        if result is None and proc.poll() is not None:
            result = common.finish_sender(proc, 30)
            deadline = result["end"] + ctx.grace
        if result is not None and (n >= result["sent"] or time.time() > deadline):
            break
        time.sleep(max(0.0, (0.25 if result is not None else 0.5) - (time.time() - asked)))
    step.sent = result["sent"]
    step.offered_per_s = round(result["rate"])
    done = next((t for t, n in series if n >= step.sent), None)
    if done is not None:
        step.all_stored_s = round(done - result["start"], 2)
        step.backlog_s = round(max(0.0, done - result["end"]), 2)
        step.lines_per_s = round(step.sent / (done - result["start"]))
    during = [(t, n) for t, n in series if result["start"] + 0.1 * result["seconds"] <= t <= result["end"]]
    if len(during) >= 2 and during[-1][0] > during[0][0]:
        step.stored_per_s_while_sending = round((during[-1][1] - during[0][1]) / (during[-1][0] - during[0][0]))
    return series


def judge(step: Step, min_ratio: float) -> None:
    step.sustained = (
        step.missing == 0
        and not step.duplicates
        and step.lines_per_s is not None
        and step.lines_per_s >= min_ratio * step.rate
    )


def netobs_step(ctx: Context, rate: int) -> Step:
    step = Step("netobs", rate)
    ctx.index += 1
    node = Node(ctx.work / f"node-{ctx.index}-{rate}", ctx.args.parse_processes)
    try:
        warm_up(node, ctx.sources)
        base = node.count()
        before = node.metrics()
        started = time.monotonic()
        cpu_before = common.cpu_by_kind(node.rss.take())
        follow(ctx, node.syslog_port, rate, lambda: node.count() - base, step)
        cpu_after = common.cpu_by_kind(node.rss.take())
        after = node.metrics()
        rows, distinct = node.query(
            "SELECT count(), uniqExact(extract(message, '^seq=([0-9]+) ')) FROM syslog "
            "WHERE startsWith(message, 'seq=0')"
        )[0]
        step.stored, step.duplicates = int(distinct), int(rows) - int(distinct)
        step.missing = step.sent - step.stored
        counters = node_counters(before, after)
        step.extra = {
            "node_start_s": round(node.start_seconds, 1),
            **counters,
            "in_broker_not_stored": counters["accepted"] - step.stored,
            "rss_peak_mb": node.rss.peak(started, total=True),
            "cpu_us_per_line": cpu_per_line(cpu_before, cpu_after, step.sent),
            "scrapes_missing_ingest": node.missed_scrapes,
        }
        judge(step, ctx.args.min_ratio)
    finally:
        step.extra["node_stop_s"] = round(node.stop(), 1)
        if not ctx.args.keep:
            shutil.rmtree(node.data, ignore_errors=True)
    return step


def cpu_per_line(before: dict[str, float], after: dict[str, float], lines: int) -> dict[str, float]:
    """CPU µs per line each kind of process spent between two cpu_by_kind snapshots (and their total): where
    a node's cores go, whatever else the machine runs."""
    spent = {kind: used - before.get(kind, 0.0) for kind, used in after.items()}
    spent["total"] = sum(spent.values())
    return {kind: round(used / max(lines, 1) * 1e6, 1) for kind, used in sorted(spent.items())}


class LineCounter:
    """Lines in a growing file, reading only what was added since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines = 0

    def __call__(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                while chunk := f.read(1 << 22):
                    self.lines += chunk.count(b"\n")
                    self.offset += len(chunk)
        return self.lines


def syslog_ng_step(ctx: Context, rate: int) -> Step:
    from syslog_ingest import syslog_ng

    step = Step("syslog-ng", rate)
    ctx.index += 1
    port = common.free_port_pair()
    work = ctx.work / f"syslog-ng-{ctx.index}-{rate}"
    try:
        with syslog_ng(ctx.args.syslog_ng, ctx.syslog_ng_version, "udp", port, work) as out:
            counter = LineCounter(out)
            follow(ctx, port, rate, counter, step)
            step.extra["kernel_drops"] = common.socket_state("udp", port).drops
        step.stored = counter()
        step.missing = max(0, step.sent - step.stored)
        judge(step, ctx.args.min_ratio)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return step


STEPS: dict[str, Callable[[Context, int], Step]] = {"netobs": netobs_step, "syslog-ng": syslog_ng_step}


# --- finding the highest sustained rate -------------------------------------------------------------------


@dataclass
class Search:
    """Doubling from a start rate until a step fails, then halving the gap (or a fixed list, upwards)."""

    start: int
    growth: float
    resolution: float
    max_steps: int
    rates: list[int] | None = None
    passed: int = 0
    failed: int | None = None
    steps: int = 0

    def next_rate(self) -> int | None:
        if self.steps >= self.max_steps:
            return None
        if self.rates is not None:
            if self.failed is not None or self.steps >= len(self.rates):
                return None
            return self.rates[self.steps]
        if self.failed is None:
            return self.start if not self.passed else round(self.passed * self.growth)
        if self.passed == 0:
            low = self.failed // 2
            return low if low >= 1000 else None
        gap = self.failed - self.passed
        if gap <= self.resolution * self.passed:
            return None
        unit = 10 ** max(2, int(math.log10(gap)) - 1)
        middle = (self.passed + self.failed) // 2 // unit * unit
        return middle if self.passed < middle < self.failed else None

    def record(self, rate: int, sustained: bool) -> None:
        self.steps += 1
        if sustained:
            self.passed = max(self.passed, rate)
        else:
            self.failed = rate if self.failed is None else min(self.failed, rate)


def show(step: Step) -> None:
    rate = f"{step.lines_per_s:,.0f}/s" if step.lines_per_s else "-"
    common.say(
        f"  {step.receiver:<9} {step.rate:>7,}/s: sent {step.sent:,} (at {step.offered_per_s:,.0f}/s), "
        f"stored {step.stored:,}, missing {step.missing:,}, twice {step.duplicates}, all in after "
        f"{step.all_stored_s} s (backlog {step.backlog_s} s) = {rate}; while sending "
        f"{step.stored_per_s_while_sending}/s -> {'SUSTAINED' if step.sustained else 'not sustained'}"
    )
    if step.receiver == "netobs":
        e = step.extra
        common.say(
            f"            shed {e.get('dropped')}, in the broker not stored {e.get('in_broker_not_stored')}, "
            f"syslog lag {e.get('consumer_lag_records', {}).get('netobs.syslog.raw')} records, "
            f"RSS peak {e.get('rss_peak_mb', {}).get('total')} MB"
        )
        common.say(f"            CPU µs per line: {e.get('cpu_us_per_line')}")


def find_rates(ctx: Context, receivers: list[str]) -> list[Step]:
    a = ctx.args
    listed = sorted(int(float(r)) for r in a.rates.split(",")) if a.rates else None
    searches = {r: Search(a.start_rate, a.growth, a.resolution, a.max_steps, listed) for r in receivers}
    steps: list[Step] = []
    turn = 0
    while True:
        order = receivers if turn % 2 == 0 else list(reversed(receivers))
        turn += 1
        ran = False
        for receiver in order:
            rate = searches[receiver].next_rate()
            if rate is None:
                continue
            step = STEPS[receiver](ctx, rate)
            searches[receiver].record(rate, step.sustained)
            show(step)
            steps.append(step)
            ran = True
        if not ran:
            return steps


def best(steps: list[Step], receiver: str) -> Step | None:
    ok = [s for s in steps if s.receiver == receiver and s.sustained]
    return max(ok, key=lambda s: s.rate) if ok else None


# --- latency and overload on one node ---------------------------------------------------------------------


def weighted_percentile(pairs: list[tuple[float, int]], q: float) -> float:
    """The q-th percentile of values given as (value, how many)."""
    total = sum(w for _, w in pairs)
    if not total:
        return math.nan
    rank = q / 100 * (total - 1)
    seen = 0
    for value, weight in sorted(pairs):
        seen += weight
        if seen > rank:
            return value
    return max(v for v, _ in pairs)


def new_rows_sql(watermark: dict[int, int]) -> str:
    """Measured lines in records at or after each partition's watermark, by record and send-time bucket."""
    known = " OR ".join(f"(kafka_partition = {p} AND kafka_offset >= {o})" for p, o in sorted(watermark.items()))
    unknown = f"kafka_partition NOT IN ({', '.join(str(p) for p in sorted(watermark))})" if watermark else "1"
    where = f"({known}) OR ({unknown})" if known else unknown
    return (
        "WITH toFloat64OrZero(extract(message, '^seq=[0-9]+ sent=([0-9.]+)')) AS sent "
        f"SELECT kafka_partition, kafka_offset, toUInt64(sent * {BUCKETS_PER_S}) AS bucket, count(), "
        "max(toUnixTimestamp64Micro(received_at) / 1e6 - sent) "
        f"FROM syslog WHERE startsWith(message, 'seq=0') AND ({where}) GROUP BY kafka_partition, kafka_offset, bucket"
    )


def latency(ctx: Context, node: Node, rate: int) -> dict[str, Any]:
    """Send rate lines/s for --latency-seconds; poll for new rows; latency = poll time - send time."""
    a = ctx.args
    newest = node.query("SELECT kafka_partition, max(kafka_offset) FROM syslog GROUP BY kafka_partition")
    watermark = {int(p): int(o) + 1 for p, o in newest}
    seen: dict[tuple[int, int, int], int] = {}
    pairs: list[tuple[float, int]] = []
    sent_at: list[float] = []
    """The send time of each pair (its bucket's middle), for the percentiles per window."""
    receive_max = 0.0
    proc = start_sender(node.syslog_port, rate, int(rate * a.latency_seconds), ctx.sources, 0)
    result: dict[str, Any] | None = None
    deadline = math.inf
    visible = polls = 0
    poll_ms: list[float] = []
    while True:
        asked = time.time()
        rows = node.query(new_rows_sql(watermark))
        answered = time.time()  # the lines were queryable by then (the node may take a while to answer)
        poll_ms.append((answered - asked) * 1000)
        polls += 1
        for partition, offset, bucket, n, receive in rows:
            key = (int(partition), int(offset), int(bucket))
            new = int(n) - seen.get(key, 0)
            if new > 0:
                seen[key] = int(n)
                sent = (int(bucket) + 0.5) / BUCKETS_PER_S
                pairs.append((answered - sent, new))
                sent_at.append(sent)
                visible += new
                receive_max = max(receive_max, float(receive))
            watermark[key[0]] = max(watermark.get(key[0], 0), key[1])
        seen = {k: v for k, v in seen.items() if k[1] >= watermark.get(k[0], 0)}
        if result is None and proc.poll() is not None:
            result = common.finish_sender(proc, 30)
            deadline = time.time() + 30
        if result is not None and (visible >= result["sent"] or time.time() > deadline):
            break
        time.sleep(max(0.0, a.poll - (time.time() - asked)))
    assert result is not None
    windows: dict[int, list[tuple[float, int]]] = {}
    for pair, sent in zip(pairs, sent_at, strict=True):
        windows.setdefault(max(0, int((sent - result["start"]) // WINDOW_SECONDS)), []).append(pair)
    return {
        "rate": rate,
        "seconds": a.latency_seconds,
        "sent": result["sent"],
        "visible": visible,
        "missing": result["sent"] - visible,
        "poll_s": a.poll,
        "polls": polls,
        "poll_ms_p50": common.rounded(common.median(poll_ms), 1),
        "poll_ms_max": common.rounded(max(poll_ms, default=math.nan), 1),
        "p50_s": common.rounded(weighted_percentile(pairs, 50)),
        "p90_s": common.rounded(weighted_percentile(pairs, 90)),
        "p99_s": common.rounded(weighted_percentile(pairs, 99)),
        "max_s": common.rounded(max((v for v, _ in pairs), default=math.nan)),
        "send_to_receive_max_s": round(receive_max, 3),
        "by_window": [
            {
                "from_s": w * WINDOW_SECONDS,
                "p50_s": common.rounded(weighted_percentile(v, 50)),
                "p99_s": common.rounded(weighted_percentile(v, 99)),
            }
            for w, v in sorted(windows.items())
        ],
        "bias": f"high by up to one poll ({a.poll} s) plus the query's own time, and 1/{BUCKETS_PER_S} s of bucket",
    }


def overload(ctx: Context, node: Node, rate: int) -> dict[str, Any]:
    """Offer rate lines/s for --overload-seconds, then --settle seconds idle; RSS every second, the node's
    counters every 5 s (the timeline)."""
    a = ctx.args
    before_rss = node.rss.last()
    before = node.metrics()
    base = node.count()
    started = time.monotonic()
    proc = start_sender(node.syslog_port, rate, int(rate * a.overload_seconds), ctx.sources, OVERLOAD_SEQ)
    timeline = []
    ended: float | None = None
    result: dict[str, Any] = {}
    while True:
        time.sleep(5.0 - (time.monotonic() - started) % 5.0)
        now = time.monotonic()
        if ended is None and proc.poll() is not None:
            result = common.finish_sender(proc, 30)
            ended = now
        stored = node.count() - base
        counters = node_counters(before, node.metrics())
        rss = node.rss.last()
        point = {
            "t": round(now - started),
            "rss_mb": rss,
            "stored": stored,
            "accepted": counters["accepted"],
            "backlog_lines": counters["accepted"] - stored,
            "lag_records": sum(counters["consumer_lag_records"].values()),
            "dropped": sum(counters["dropped"].values()),
        }
        timeline.append(point)
        each = ", ".join(f"{k} {v}" for k, v in rss.items() if k != "total")
        common.say(
            f"  t={point['t']:>3} s RSS {rss.get('total')} MB ({each}); stored {stored:,}, broker backlog "
            f"{point['backlog_lines']:,} lines ({point['lag_records']} records), shed {point['dropped']:,}"
        )
        if ended is not None and now - ended >= a.settle:
            break
    after = node.metrics()
    counters = node_counters(before, after)
    stored = node.count() - base
    shed = sum(counters["dropped"].values())
    return {
        "rate": rate,
        "seconds": a.overload_seconds,
        "settle_s": a.settle,
        "sent": result.get("sent"),
        "offered_per_s": round(result.get("rate", 0)),
        "received": counters["received"],
        "accepted_by_kafka": counters["accepted"],
        "shed": counters["dropped"],
        "uncounted": result.get("sent", 0) - counters["accepted"] - shed,
        "stored_by_end": stored,
        "broker_backlog_lines_at_end": counters["accepted"] - stored,
        "consumer_lag_records_at_end": counters["consumer_lag_records"],
        "rss_before_mb": before_rss,
        "rss_peak_mb": node.rss.peak(started, total=True),
        "rss_after_mb": node.rss.last(),
        "timeline": timeline,
        "scrapes_missing_ingest": node.missed_scrapes,
    }


def failed_or(phase: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The phase's figures, or its error (the other phase and the summary still come)."""
    try:
        return phase()
    except Exception as exc:
        common.say(traceback.format_exc()[-3000:])
        for proc in SENDERS:
            if proc.poll() is None:
                proc.kill()
        return {"error": repr(exc)[:1000]}


def latency_and_overload(ctx: Context, highest: int) -> dict[str, Any]:
    a = ctx.args
    node = Node(ctx.work / "node-latency-overload", a.parse_processes)
    out: dict[str, Any] = {"node_start_s": round(node.start_seconds, 1)}
    try:
        warm_up(node, ctx.sources)
        if a.latency_seconds > 0:
            rate = max(1000, highest // 2)
            common.say(f"latency: {rate:,} lines/s (half the highest sustained) for {a.latency_seconds:g} s")
            out["latency"] = lat = failed_or(lambda: latency(ctx, node, rate))
            if "error" not in lat:
                common.say(
                    f"  {lat['visible']:,}/{lat['sent']:,} queryable; p50 {lat['p50_s']} s, p99 {lat['p99_s']} s, "
                    f"max {lat['max_s']} s ({lat['bias']})"
                )
        if a.overload_seconds > 0:
            time.sleep(5)
            rate = 2 * highest
            common.say(f"overload: {rate:,} lines/s (twice the highest sustained) for {a.overload_seconds:g} s")
            out["overload"] = failed_or(lambda: overload(ctx, node, rate))
    finally:
        out["node_stop_s"] = round(node.stop(), 1)
    return out


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    load = parser.add_argument_group("sustained rate (goal 1)")
    load.add_argument("--seconds", type=float, default=60.0, help="seconds of load per step (default 60)")
    load.add_argument("--rates", default="", help="lines/s to try upwards, comma separated (instead of the search)")
    load.add_argument("--start-rate", type=int, default=20_000, help="first rate of the search (default 20000)")
    load.add_argument("--growth", type=float, default=2.0, help="rate factor until a step fails (default 2)")
    load.add_argument(
        "--resolution", type=float, default=0.2, help="stop when failed - passed <= this x passed (default 0.2)"
    )
    load.add_argument(
        "--min-ratio",
        type=float,
        default=0.95,
        help="sustained needs lines/s >= this x the offered rate (default 0.95; the pipeline's own latency of a "
        "second or two counts against it, so short --seconds need a lower one)",
    )
    load.add_argument("--max-steps", type=int, default=6, help="most steps per receiver (default 6)")
    load.add_argument("--sources", type=int, default=4, help="sender addresses, spread over partitions (default 4)")
    load.add_argument("--skip-syslog-ng", action="store_true", help="no syslog-ng steps (no ratio)")
    load.add_argument("--syslog-ng", default=shutil.which("syslog-ng") or "/usr/sbin/syslog-ng", help="binary")
    other = parser.add_argument_group("latency (goal 3) and overload (goal 6)")
    other.add_argument("--latency-seconds", type=float, default=60.0, help="0 skips (default 60)")
    other.add_argument("--poll", type=float, default=0.25, help="latency poll interval, s (default 0.25)")
    other.add_argument("--overload-seconds", type=float, default=60.0, help="0 skips (default 60)")
    other.add_argument("--settle", type=float, default=30.0, help="seconds of RSS after the overload (default 30)")
    other.add_argument(
        "--assume-rate",
        type=int,
        default=0,
        help="skip the rate search: latency and overload from this as the highest sustained rate",
    )
    node = parser.add_argument_group("node")
    node.add_argument(
        "--parse-processes",
        type=int,
        default=None,
        help="NETOBS_WORKER_PARSE_PROCESSES for every node (0: parse in the worker's process); unset: default",
    )
    node.add_argument("--keep", action="store_true", help="keep the scratch directory (data dirs, node logs)")
    return parser.parse_args(argv)


def summary(args: argparse.Namespace, steps: list[Step], tail: dict[str, Any], started: float) -> dict[str, Any]:
    ours, theirs = best(steps, "netobs"), best(steps, "syslog-ng")
    stored = ours.lines_per_s if ours else None
    baseline = theirs.lines_per_s if theirs else None
    lat = tail.get("latency", {})
    over = tail.get("overload", {})
    return {
        "benchmark": "pipeline",
        "params": {
            "seconds": args.seconds,
            "rates": args.rates or None,
            "start_rate": args.start_rate,
            "growth": args.growth,
            "resolution": args.resolution,
            "min_ratio": args.min_ratio,
            "sources": args.sources,
            "transport": "udp",
            "parse_processes": args.parse_processes,
            "latency_seconds": args.latency_seconds,
            "poll_s": args.poll,
            "overload_seconds": args.overload_seconds,
            "settle_s": args.settle,
        },
        "stored_lines_per_s": stored,
        "syslog_ng_lines_per_s": baseline,
        "stored_ratio": common.rounded(stored / baseline) if stored and baseline else None,
        "highest_sustained_rate": {r: (s.rate if s else None) for r, s in (("netobs", ours), ("syslog-ng", theirs))},
        "bound": bound(steps),
        "p50_queryable_s": lat.get("p50_s"),
        "p99_queryable_s": lat.get("p99_s"),
        "rss_peak_mb": over.get("rss_peak_mb"),
        "rss_after_mb": over.get("rss_after_mb"),
        "shed": over.get("shed"),
        "latency": lat or None,
        "overload": over or None,
        "steps": [asdict(s) for s in steps],
        "seconds_total": round(time.monotonic() - started),
    }


def bound(steps: list[Step]) -> dict[str, str]:
    """Per receiver: whether its figure is exact (a higher rate failed) or a lower bound (nothing failed)."""
    out = {}
    for receiver in RECEIVERS:
        mine = [s for s in steps if s.receiver == receiver]
        if mine:
            out[receiver] = "lower bound: every rate tried passed" if all(s.sustained for s in mine) else "bracketed"
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["send"]:
        return send_main(argv[1:])
    args = parse_args(argv)
    common.exit_on_sigterm()
    from syslog_ingest import syslog_ng_config_version

    from netobs.config import load

    receivers = ["netobs"] if args.skip_syslog_ng else list(RECEIVERS)
    if not args.skip_syslog_ng and not Path(args.syslog_ng).exists():
        sys.exit(f"syslog-ng not found ({args.syslog_ng}): apt-get install -y syslog-ng-core, or --skip-syslog-ng")
    partitions = load(environ={}).kafka.partitions
    work = common.scratch_dir("netobs-bench-pipeline-")
    started = time.monotonic()
    grace = max(5.0, 0.1 * args.seconds)
    ctx = Context(args, work, source_addresses(args.sources, partitions), "", grace)
    if "syslog-ng" in receivers:
        ctx.syslog_ng_version = syslog_ng_config_version(args.syslog_ng)
    common.say(
        f"pipeline: {args.seconds:g} s per step over UDP from {', '.join(ctx.sources)}; grace {grace:g} s; "
        f"parse_processes {args.parse_processes if args.parse_processes is not None else 'default'}; scratch {work}"
    )
    tail: dict[str, Any] = {}
    try:
        with common.rmem_max_at_least(UDP_BUFFER):
            steps = find_rates(ctx, receivers) if not args.assume_rate else []
        ours = best(steps, "netobs")
        highest = args.assume_rate or (ours.rate if ours else 0)
        if not highest:
            common.say("netobs sustained no rate tried: no latency or overload phase (try a lower --start-rate)")
        elif args.latency_seconds > 0 or args.overload_seconds > 0:
            tail = latency_and_overload(ctx, highest)
    finally:
        cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = summary(args, steps, tail, started)
    common.say(
        f"pipeline: netobs {result['stored_lines_per_s']} lines/s stored, syslog-ng {result['syslog_ng_lines_per_s']} "
        f"to file: {result['stored_ratio']}x; p99 queryable {result['p99_queryable_s']} s"
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
