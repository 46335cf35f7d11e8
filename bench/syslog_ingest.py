"""Syslog ingest: how fast `netobs ingest` takes syslog, beside syslog-ng taking the same load.

Offered load: a paced sender in its own process (bench/_common.py: sendmmsg for UDP) sends fixed-size
lines to 127.0.0.1 at each rate for --step-seconds. Every step starts a fresh receiver, so its counters
are exactly that step's:

  netobs     `netobs ingest` (child process) producing to Apache Kafka (authenticated); accepted = lines
             Kafka acknowledged (its own counters, logged when it stops)
  syslog-ng  `syslog-ng -F` with a minimal config (udp/tcp source, one file destination); accepted =
             lines in the file

Steps alternate netobs / syslog-ng at each rate (which goes first alternates too: the machine is noisy),
--reps times, and medians are reported. Loss = 1 - accepted/sent. accepted/s = accepted / (time from the
first line sent until the kernel holds nothing more for the receiver), so a receiver that falls behind
is charged for its backlog. UDP buffers are equalised: netobs asks for 32 MB with SO_RCVBUFFORCE, and
net.core.rmem_max is raised to the same for the run (root; restored after) so syslog-ng's so-rcvbuf()
gets it too (--no-equal-buffers keeps the system setting). Such a buffer absorbs a backlog of ~80k lines
of 120 bytes, so a loss-free 3 s step shows the receiver sustained the rate less what the buffer absorbed;
accepted/s (charged for the backlog) is the sustained figure, and longer steps tighten both.

UDP: the highest rate with median loss < --loss-threshold % (at it and every lower rate), per receiver,
and netobs / syslog-ng (target: at least 0.5). TCP (flow-controlled, never lossy by design): the
highest rate a receiver keeps up with (accepted/s >= 90 % of offered, no loss).

Then the rate that reaches ClickHouse: a fresh broker, `netobs ingest`, and the Faust worker writing
embedded ClickHouse (chdb) in this process, as single-node mode runs it; --ch-count lines (natural
lengths, 86 templates from bench/corpus.py) sent at --ch-rate; stored rows/s = rows / (time from the
first line sent until all rows are queryable), with duplicates and missing rows checked.

The last line printed is one JSON object with every figure.

    .venv/bin/python bench/syslog_ingest.py [--rates 50000,100000,150000,200000] [--reps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

NETOBS_UDP_BUFFER = 32 * 1024 * 1024
"""What ingest/udp.py asks for (SO_RCVBUFFORCE); syslog-ng's so-rcvbuf() gets the same."""
RECEIVERS = ("netobs", "syslog-ng")
KEEP_UP = 0.9
"""TCP: a receiver keeps up when accepted/s is at least this share of the offered rate (a 3 s step then
allows 0.33 s between the last line sent and the receiver having read everything)."""


@dataclass
class Step:
    """One receiver taking one load."""

    receiver: str
    transport: str
    rate: int
    rep: int
    sent: int
    offered_per_s: float
    """What the sender achieved (TCP: slowed by a receiver that does not keep up)."""
    accepted: int
    loss_pct: float
    accepted_per_s: float
    backlog_s: float
    """From the last line sent until the kernel held nothing more for the receiver."""
    kernel_drops: int
    internal_drops: int
    """Lines the receiver read but did not keep (netobs: queue full or Kafka failed)."""
    rcvbuf: int | None


# --- syslog-ng --------------------------------------------------------------------------------------


def syslog_ng_config_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"Config version:\s*([0-9.]+)", out)
    return match.group(1) if match else "3.35"


def syslog_ng_config(version: str, transport: str, port: int, out: Path) -> str:
    """A minimal receiver: one source, one file; sized like netobs (32 MB UDP buffer, 200k queued lines)."""
    if transport == "udp":
        source = f'udp(ip("{common.HOST}") port({port}) so-rcvbuf({NETOBS_UDP_BUFFER}))'
        flags = ""
    else:
        source = f'network(ip("{common.HOST}") port({port}) transport("tcp") max-connections(10) log-iw-size(100000))'
        flags = " flags(flow-control);"
    return (
        f"@version: {version}\n"
        "options { stats-freq(0); use-dns(no); dns-cache(no); keep-hostname(yes); log-fifo-size(200000); };\n"
        f"source s_bench {{ {source}; }};\n"
        f'destination d_file {{ file("{out}"); }};\n'
        f"log {{ source(s_bench); destination(d_file);{flags} }};\n"
    )


@contextlib.contextmanager
def syslog_ng(binary: str, version: str, transport: str, port: int, work: Path) -> Iterator[Path]:
    """syslog-ng in the foreground on port, writing to a file; yields the file, stops on exit."""
    from tests import brokers

    work.mkdir(parents=True, exist_ok=True)
    out = work / "messages"
    conf = work / "syslog-ng.conf"
    conf.write_text(syslog_ng_config(version, transport, port, out))
    args = [binary, "-F", "--no-caps", "-f", str(conf), "-p", str(work / "pid"), "-R", str(work / "persist")]
    args += ["-c", str(work / "ctl")]
    proc = brokers.spawn(args, work / "syslog-ng.log")
    try:
        if transport == "udp":
            common.wait_udp_bound(port, proc)
        else:
            common.wait_tcp_listening(port, proc)
        yield out
    finally:
        brokers.stop(proc)


def wait_file_settled(path: Path, quiet: float = 0.3, timeout: float = 30.0) -> None:
    """Wait until path has not grown for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            count += chunk.count(b"\n")
    return count


# --- steps ------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    work: Path
    broker: Any
    syslog_ng_version: str


def _measure(transport: str, port: int, rate: int, count: int, size: int) -> tuple[dict, float, int, int | None]:
    """Send, wait for the kernel to hand everything over; (sender result, drained at, kernel drops, rcvbuf)."""
    rcvbuf = common.receive_buffer(transport, port) if transport == "udp" else None
    sent = common.run_sender(transport, port, rate, count, size=size)
    drained = common.wait_drained(transport, port)
    drops = common.socket_state("udp", port).drops if transport == "udp" else 0
    return sent, drained, drops, rcvbuf


def _step(
    receiver: str, transport: str, rate: int, rep: int, sent: dict, drained: float, accepted: int, drops: int
) -> tuple[Step, float]:
    intake = max(sent["end"], drained) - sent["start"]
    lost = sent["sent"] - accepted
    step = Step(
        receiver=receiver,
        transport=transport,
        rate=rate,
        rep=rep,
        sent=sent["sent"],
        offered_per_s=round(sent["rate"]),
        accepted=accepted,
        loss_pct=round(100 * lost / max(sent["sent"], 1), 4),
        accepted_per_s=round(accepted / intake),
        backlog_s=round(max(0.0, drained - sent["end"]), 3),
        kernel_drops=drops,
        internal_drops=0,
        rcvbuf=None,
    )
    return step, intake


def netobs_step(ctx: Context, transport: str, rate: int, rep: int) -> Step:
    port = common.free_port_pair()
    count = int(rate * ctx.args.step_seconds)
    ingest = common.IngestProcess(ctx.broker, ctx.work / "netobs-data", port, ctx.work / "ingest.log")
    try:
        sent, drained, drops, rcvbuf = _measure(transport, port, rate, count, ctx.args.size)
    finally:
        counters = ingest.stop()
    c = counters.get(transport, {})
    step, _ = _step("netobs", transport, rate, rep, sent, drained, int(c.get("delivered", 0)), drops)
    step.internal_drops = int(c.get("dropped", 0))
    step.rcvbuf = rcvbuf
    step.kernel_drops = max(drops, int(c.get("kernel_dropped", 0)))  # netobs reads the same counter at its stop
    return step


def syslog_ng_step(ctx: Context, transport: str, rate: int, rep: int) -> Step:
    port = common.free_port_pair()
    count = int(rate * ctx.args.step_seconds)
    work = ctx.work / f"syslog-ng-{transport}-{rate}-{rep}"
    with syslog_ng(ctx.args.syslog_ng, ctx.syslog_ng_version, transport, port, work) as out:
        sent, drained, drops, rcvbuf = _measure(transport, port, rate, count, ctx.args.size)
        wait_file_settled(out)
    accepted = count_lines(out)
    shutil.rmtree(work, ignore_errors=True)
    step, _ = _step("syslog-ng", transport, rate, rep, sent, drained, accepted, drops)
    step.internal_drops = max(0, sent["sent"] - drops - accepted) if transport == "udp" else sent["sent"] - accepted
    step.rcvbuf = rcvbuf
    return step


STEPS = {"netobs": netobs_step, "syslog-ng": syslog_ng_step}


def show(step: Step) -> None:
    common.say(
        f"  {step.transport} {step.rate:>7,}/s rep {step.rep} {step.receiver:<9} sent {step.sent:>8,} "
        f"(at {step.offered_per_s:>9,.0f}/s) accepted {step.accepted:>8,} loss {step.loss_pct:7.3f} % "
        f"accepted/s {step.accepted_per_s:>9,.0f} backlog {step.backlog_s:.2f} s kernel drops {step.kernel_drops:,} "
        f"internal drops {step.internal_drops:,}"
    )


def sweep(ctx: Context, transport: str, rates: list[int], reps: int) -> list[Step]:
    """Every rate, reps times, both receivers alternately; stops raising the rate once both are swamped."""
    steps: list[Step] = []
    for rate in rates:
        for rep in range(reps):
            order = RECEIVERS if rep % 2 == 0 else tuple(reversed(RECEIVERS))
            for receiver in order:
                step = STEPS[receiver](ctx, transport, rate, rep)
                show(step)
                steps.append(step)
        losses = [median_of(steps, r, rate, "loss_pct") for r in RECEIVERS]
        if all(loss > ctx.args.give_up_loss for loss in losses):
            common.say(f"  both receivers lose more than {ctx.args.give_up_loss} % at {rate:,}/s: no higher rates")
            break
    return steps


# --- summaries --------------------------------------------------------------------------------------


def median_of(steps: list[Step], receiver: str, rate: int, field: str) -> float:
    return common.median([getattr(s, field) for s in steps if s.receiver == receiver and s.rate == rate])


def by_rate(steps: list[Step], receiver: str) -> dict[str, dict[str, float | None]]:
    rates = sorted({s.rate for s in steps if s.receiver == receiver})
    return {
        str(rate): {
            "loss_pct": common.rounded(median_of(steps, receiver, rate, "loss_pct"), 4),
            "accepted_per_s": common.rounded(median_of(steps, receiver, rate, "accepted_per_s"), 0),
            "offered_per_s": common.rounded(median_of(steps, receiver, rate, "offered_per_s"), 0),
            "backlog_s": common.rounded(median_of(steps, receiver, rate, "backlog_s"), 3),
        }
        for rate in rates
    }


def highest_ok(steps: list[Step], receiver: str, ok: Any) -> tuple[int, bool]:
    """The highest rate that passes ok(rate) with every lower rate passing too; and whether it was the top."""
    rates = sorted({s.rate for s in steps if s.receiver == receiver})
    best = 0
    for rate in rates:
        if not ok(rate):
            return best, False
        best = rate
    return best, True


def bound_kind(rates: dict[str, int], netobs_at_top: bool, syslog_ng_at_top: bool) -> str:
    """How to read a ratio of two 'highest passing rate' figures when a receiver passed every rate tried."""
    if not rates["syslog-ng"]:
        return "syslog-ng failed the lowest rate tried: no ratio, try lower --rates"
    if not rates["netobs"]:
        return "netobs failed the lowest rate tried: the ratio is below this"
    if netobs_at_top and syslog_ng_at_top:
        return "both passed the highest rate tried: undetermined, try higher --rates"
    if netobs_at_top:
        return "netobs passed every rate tried: the true ratio is at least this"
    if syslog_ng_at_top:
        return "syslog-ng passed every rate tried: the true ratio is at most this"
    return "exact"


def udp_summary(steps: list[Step], threshold: float) -> dict[str, Any]:
    result: dict[str, Any] = {"by_rate": {r: by_rate(steps, r) for r in RECEIVERS}}
    free: dict[str, int] = {}
    for receiver in RECEIVERS:
        rate, top = highest_ok(steps, receiver, lambda r, rc=receiver: median_of(steps, rc, r, "loss_pct") < threshold)
        free[receiver] = rate
        result[f"{receiver}_loss_free_rate"] = rate
        result[f"{receiver}_loss_free_is_lower_bound"] = top
        rates = {s.rate for s in steps if s.receiver == receiver}
        result[f"{receiver}_max_accepted_per_s"] = max(
            (median_of(steps, receiver, r, "accepted_per_s") for r in rates), default=0
        )
    ratio = free["netobs"] / free["syslog-ng"] if free["syslog-ng"] else None
    result["ratio_loss_free_netobs_to_syslog_ng"] = common.rounded(ratio, 3) if ratio is not None else None
    result["ratio_loss_free_kind"] = bound_kind(
        free, result["netobs_loss_free_is_lower_bound"], result["syslog-ng_loss_free_is_lower_bound"]
    )
    result["target_ratio"] = 0.5
    result["meets_target"] = free["netobs"] >= 0.5 * free["syslog-ng"] if any(free.values()) else None
    a, b = result["netobs_max_accepted_per_s"], result["syslog-ng_max_accepted_per_s"]
    result["ratio_max_accepted_netobs_to_syslog_ng"] = common.rounded(a / b, 3) if b else None
    result["netobs_lines_lost_total"] = sum(s.sent - s.accepted for s in steps if s.receiver == "netobs")
    result["netobs_internal_drops_total"] = sum(s.internal_drops for s in steps if s.receiver == "netobs")
    result["rcvbuf_bytes"] = {r: next((s.rcvbuf for s in steps if s.receiver == r), None) for r in RECEIVERS}
    return result


def tcp_summary(steps: list[Step]) -> dict[str, Any]:
    result: dict[str, Any] = {"by_rate": {r: by_rate(steps, r) for r in RECEIVERS}}
    kept: dict[str, int] = {}
    for receiver in RECEIVERS:

        def keeps_up(rate: int, rc: str = receiver) -> bool:
            return (
                median_of(steps, rc, rate, "accepted_per_s") >= KEEP_UP * rate
                and median_of(steps, rc, rate, "loss_pct") < 0.1
            )

        rate, top = highest_ok(steps, receiver, keeps_up)
        kept[receiver] = rate
        result[f"{receiver}_keeps_up_rate"] = rate
        result[f"{receiver}_keeps_up_is_lower_bound"] = top
        rates = {s.rate for s in steps if s.receiver == receiver}
        result[f"{receiver}_max_accepted_per_s"] = max(
            (median_of(steps, receiver, r, "accepted_per_s") for r in rates), default=0
        )
    result["ratio_keeps_up_netobs_to_syslog_ng"] = (
        common.rounded(kept["netobs"] / kept["syslog-ng"], 3) if kept["syslog-ng"] else None
    )
    result["ratio_keeps_up_kind"] = bound_kind(
        kept, result["netobs_keeps_up_is_lower_bound"], result["syslog-ng_keeps_up_is_lower_bound"]
    )
    a, b = result["netobs_max_accepted_per_s"], result["syslog-ng_max_accepted_per_s"]
    result["ratio_max_accepted_netobs_to_syslog_ng"] = common.rounded(a / b, 3) if b else None
    result["netobs_lines_lost_total"] = sum(s.sent - s.accepted for s in steps if s.receiver == "netobs")
    return result


# --- ClickHouse ----------------------------------------------------------------------------------------


def stored_rows(client: Any) -> int:
    return int(client.query("SELECT count() FROM netobs.syslog").result_rows[0][0])


def wait_rows(client: Any, target: int, timeout: float, poll: float = 0.1) -> tuple[int, float]:
    """Poll until at least target rows are queryable; (rows, time.time() when seen)."""
    deadline = time.monotonic() + timeout
    rows = stored_rows(client)
    while rows < target and time.monotonic() < deadline:
        time.sleep(poll)
        rows = stored_rows(client)
    return rows, time.time()


def clickhouse_stage(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Live: worker running, ingest running, N lines at a rate; how fast do they become rows?"""
    from common.clickhouse import connect
    from netobs.config import load

    data = work / "ch-data"
    # A broker of its own: the receiver steps' millions of lines stay in theirs (Kafka keeps its topics).
    with common.kafka(work / "ch-broker") as broker:
        env = common.netobs_env(
            broker,
            data,
            NETOBS_CLICKHOUSE=f"chdb://{data / 'clickhouse'}",
            NETOBS_WORKER_GROUP_ID=f"bench-{uuid.uuid4().hex[:8]}",
        )
        config = load(environ=env)
        common.say("clickhouse: starting the worker (in this process, as single-node mode runs it)")
        worker = common.in_process_worker(config)
        client = connect(config.clickhouse_dsn)
        port = common.free_port_pair()
        ingest = common.IngestProcess(broker, data, port, work / "ch-ingest.log")
        try:
            warm = common.run_sender("udp", port, 5_000, 2_000)
            rows, _ = wait_rows(client, warm["sent"], 60)
            common.say(f"clickhouse: warm-up {rows:,} rows stored; sending {args.ch_count:,} at {args.ch_rate:,}/s")
            before = rows
            sent = common.run_sender("udp", port, args.ch_rate, args.ch_count)
            common.wait_drained("udp", port)
        finally:
            counters = ingest.stop()
        delivered = int(counters.get("udp", {}).get("delivered", 0))
        target = delivered
        rows, all_in = wait_rows(client, target, args.ch_timeout)
        figures = clickhouse_figures(client, before, rows, target, sent, all_in)
        client.close()
        worker.stop()
    figures["received"] = int(counters.get("udp", {}).get("received", 0))
    figures["delivered_to_kafka"] = delivered
    return figures


def clickhouse_figures(client: Any, before: int, rows: int, target: int, sent: dict, all_in: float) -> dict[str, Any]:
    stored = rows - before
    unique = client.query("SELECT uniqExact(kafka_partition, kafka_offset, line_no) FROM netobs.syslog").result_rows
    measured = client.query(
        "SELECT avg(length(raw)), toUnixTimestamp64Micro(min(received_at)), "
        "toUnixTimestamp64Micro(max(received_at)), uniqExact(template_id), countIf(parse_error) "
        "FROM netobs.syslog WHERE received_at >= fromUnixTimestamp64Micro({start:Int64})",
        parameters={"start": int(sent["start"] * 1e6)},
    ).result_rows[0]
    avg_len, first_us, last_us, templates, parse_errors = measured
    seconds = all_in - sent["start"]
    return {
        "sent": sent["sent"],
        "sent_per_s": round(sent["rate"]),
        "stored": stored,
        "all_rows_stored": rows >= target,
        "missing": max(0, target - rows),
        "duplicates": rows - int(unique[0][0]),
        "avg_line_bytes": round(float(avg_len), 1),
        "templates": int(templates),
        "parse_errors": int(parse_errors),
        "seconds_until_all_stored": round(seconds, 2),
        "lag_after_last_sent_s": round(all_in - sent["end"], 2),
        "stored_rows_per_s": round(stored / seconds) if seconds > 0 else None,
        "received_span_s": round((int(last_us) - int(first_us)) / 1e6, 2),
    }


# --- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rates = parser.add_argument_group("offered load")
    rates.add_argument(
        "--rates",
        default="50000,100000,150000,200000",
        help="lines/s, comma separated, UDP and TCP (default %(default)s)",
    )
    rates.add_argument("--step-seconds", type=float, default=3.0, help="seconds per step: count = rate x this")
    rates.add_argument("--size", type=int, default=120, help="bytes per line (default 120)")
    rates.add_argument("--reps", type=int, default=3, help="UDP repetitions per rate and receiver (default 3)")
    rates.add_argument("--tcp-reps", type=int, default=1, help="TCP repetitions (default 1; 0 skips TCP)")
    rates.add_argument("--loss-threshold", type=float, default=0.1, help="loss-free means below this %% (0.1)")
    rates.add_argument(
        "--give-up-loss", type=float, default=20.0, help="stop raising the rate once both lose more than this %%"
    )
    ch = parser.add_argument_group("ClickHouse stage")
    ch.add_argument("--ch-count", type=int, default=300_000, help="lines sent through to ClickHouse (0 skips)")
    ch.add_argument("--ch-rate", type=int, default=50_000, help="their rate, lines/s (default 50000)")
    ch.add_argument("--ch-timeout", type=float, default=120.0, help="longest wait for all rows (s)")
    other = parser.add_argument_group("other")
    other.add_argument("--syslog-ng", default=shutil.which("syslog-ng") or "/usr/sbin/syslog-ng", help="binary")
    other.add_argument(
        "--no-equal-buffers", action="store_true", help="do not raise net.core.rmem_max for syslog-ng's buffer"
    )
    other.add_argument("--keep", action="store_true", help="keep the scratch directory (logs)")
    return parser.parse_args(argv)


def run_receivers(args: argparse.Namespace, work: Path, rates: list[int]) -> tuple[list[Step], list[Step]]:
    with common.kafka(work) as broker:
        ctx = Context(args, work, broker, syslog_ng_config_version(args.syslog_ng))
        common.say(f"UDP: rates {rates}, {args.step_seconds} s per step, {args.size}-byte lines, {args.reps} reps")
        udp = sweep(ctx, "udp", rates, args.reps)
        tcp: list[Step] = []
        if args.tcp_reps > 0:
            common.say(f"TCP: rates {rates}, {args.tcp_reps} rep(s)")
            tcp = sweep(ctx, "tcp", rates, args.tcp_reps)
    return udp, tcp


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.exit_on_sigterm()
    if not Path(args.syslog_ng).exists():
        sys.exit(f"syslog-ng not found ({args.syslog_ng}): apt-get install -y syslog-ng-core")
    rates = sorted(int(float(r)) for r in args.rates.split(","))
    work = common.scratch_dir("netobs-bench-ingest-")
    started = time.monotonic()
    try:
        with common.rmem_max_at_least(NETOBS_UDP_BUFFER, not args.no_equal_buffers) as rmem_max:
            common.say(f"net.core.rmem_max {rmem_max}; scratch {work}")
            udp, tcp = run_receivers(args, work, rates)
        ch = clickhouse_stage(args, work) if args.ch_count > 0 else None
        if ch:
            common.say(f"clickhouse: {json.dumps(ch)}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "syslog_ingest",
        "params": {
            "rates": rates,
            "step_seconds": args.step_seconds,
            "line_bytes": args.size,
            "reps": args.reps,
            "tcp_reps": args.tcp_reps,
            "loss_threshold_pct": args.loss_threshold,
            "rmem_max": rmem_max,
            "ch_count": args.ch_count,
            "ch_rate": args.ch_rate,
            "broker": common.BROKER,
        },
        "udp": udp_summary(udp, args.loss_threshold),
        "tcp": tcp_summary(tcp) if tcp else None,
        "clickhouse": ch,
        "steps": [asdict(s) for s in udp + tcp],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
