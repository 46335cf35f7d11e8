"""Fault injection against a real single node (`netobs run`: embedded Apache Kafka, receivers, worker, chdb).

Each phase starts its own node (free ports, scratch data directory), does one unkind thing to it and prints
what happened: lines sent, stored, lost, stored twice, time until stored, RSS peaks of every process of the
node (main process, receivers, executor, the broker's java; /proc/<pid>/status VmRSS every 0.5 s), time to
stop. Stored rows are counted through the node's MCP endpoint (run_select_query); a row stored twice is one
whose (kafka_partition, kafka_offset, line_no) is already there. Issue 15, findings 9-14.

  garbage          random and mutated datagrams over UDP from 127.0.0.2 plus broken TCP frames, while clean
                   numbered lines arrive over TCP from 127.0.0.3 (--clean-from 127.0.0.9: a sender of the same
                   partition as the garbage): how long until every clean line is stored,
                   stored lines/s during and after the flood. (Issue: 200,000 datagrams, 10,002 clean lines,
                   not stored after 6 minutes: --garbage 200000 --clean 10002 --drain-timeout 360.)
  stop_under_load  a backlog (clean TCP lines and garbage), then SIGTERM: seconds to exit, exit code, and what
                   a restarted node stores of what was sent. (Issue: no exit in 90 s during the garbage stall.)
  broker_outage    the broker's java SIGSTOPped for --outage seconds while --outage-rate lines/s arrive over
                   TCP (or UDP: --outage-transport) for --outage-duration seconds, then SIGCONT: lines accepted,
                   dropped, spooled (the receivers' counters), stored. (Issue: Kafka stopped 70 s under 1k
                   lines/s over TCP: 105 lines dropped; the defaults are those sizes.)
  burst            UDP and TCP at --burst-rate lines/s each for --burst-seconds, then --settle seconds idle:
                   RSS per process idle, peak and settled; then, once every line is stored (--drain-timeout),
                   --settle seconds more: the size the processes return to (drained). (Issue: 3.1 M lines in
                   50 s, main process 0.5 -> 1.9 GB peak, 1.4 GB idle after: --burst-rate 31000 --burst-seconds 50.)

The whole-node crash (SIGKILL of every process at ~10k lines/s, restart, count) is bench/node_crash.py's job.

    .venv/bin/python bench/faults.py [--phases garbage,stop_under_load,broker_outage,burst] [sizes...]

A phase that fails records its error and the others go on; every process started is killed on exit (Ctrl-C
and SIGTERM included). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    STOPPED_MARK,
    RssSampler,
    _send_udp_ring,
    exit_on_sigterm,
    finish_sender,
    free_port_pair,
    process_kind,
    process_tree,
    say,
    scratch_dir,
    start_sender,
    syslog_lines,
)

from tests import brokers
from tests.integration.pipeline import TOKEN, call, own_node_env, wait_port

PHASES = ("garbage", "stop_under_load", "broker_outage", "burst")
START_SECONDS = 300.0
SAMPLE_SECONDS = 0.5
GARBAGE_FROM = "127.0.0.2"
CLEAN_FROM = "127.0.0.3"
POLL_SECONDS = 2.0

Figures = dict[str, Any]


# --- processes --------------------------------------------------------------------------------------------


class Node:
    """`netobs run` as a child on free ports, its data in data_dir; RSS sampled while it runs."""

    def __init__(self, data_dir: Path, ports: dict[str, int] | None = None) -> None:
        self.data_dir = data_dir
        self.ports = ports or {"kafka": brokers.free_port(), "mcp": brokers.free_port(), "syslog": free_port_pair()}
        self.syslog_port = self.ports["syslog"]
        self.url = f"http://{HOST}:{self.ports['mcp']}/mcp"
        self.log_path = data_dir / "run.log"
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = own_node_env(
            data_dir,
            NETOBS_KAFKA_EMBEDDED_PORT=str(self.ports["kafka"]),
            NETOBS_SYSLOG_UDP_PORT=str(self.syslog_port),
            NETOBS_SYSLOG_TCP_PORT=str(self.syslog_port),
            NETOBS_SYSLOG_TLS_PORT="0",
            NETOBS_MCP_PORT=str(self.ports["mcp"]),
            NETOBS_MCP_TOKEN=TOKEN,
        )
        started = time.monotonic()
        self.proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], self.log_path, env=env)
        LIVE.append(self)
        self.rss = RssSampler(self.proc.pid, SAMPLE_SECONDS, by_kind=True)
        wait_port(self.ports["mcp"], self.proc, self.log_path, timeout=START_SECONDS)
        self.start_seconds = time.monotonic() - started
        say(f"  node up in {self.start_seconds:.0f} s (pid {self.proc.pid}, data {data_dir})")

    def query(self, sql: str) -> list[list[Any]]:
        rows: list[list[Any]] = asyncio.run(call(self.url, "run_select_query", {"query": sql}))["rows"]
        return rows

    def stored(self, where: str = "1") -> tuple[int, int]:
        """(rows, distinct records-lines) in syslog matching where."""
        sql = f"SELECT count(), uniqExact(kafka_partition, kafka_offset, line_no) FROM syslog WHERE {where}"
        rows, distinct = self.query(sql)[0]
        return int(rows), int(distinct)

    def broker_pid(self) -> int:
        for pid in process_tree(self.proc.pid):
            if process_kind(pid, self.proc.pid) == "broker":
                return pid
        raise RuntimeError("no broker (java) process under the node")

    def log_text(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def stop(self, timeout: float) -> Figures:
        """SIGTERM; SIGKILL to every process of the node if it has not exited within timeout."""
        pids = process_tree(self.proc.pid)
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - started
        left = [pid for pid in pids if pid != self.proc.pid and Path(f"/proc/{pid}").exists()]
        self.kill(pids)
        return {
            "stop_seconds": round(seconds, 1),
            "exit_code": code,
            "killed_after_timeout": code is None,
            "left_running": len(left),
        }

    def kill(self, pids: list[int] | None = None) -> None:
        """SIGCONT (a paused broker) then SIGKILL to every process of the node; idempotent."""
        self.rss.close()
        if self.proc.returncode is None or pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                for pid in pids or process_tree(self.proc.pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self in LIVE:
            LIVE.remove(self)


LIVE: list[Node] = []
SENDERS: list[subprocess.Popen[str]] = []


def sender(transport: str, port: int, rate: float, count: int, bind: str = "", seed: int = 1) -> subprocess.Popen[str]:
    proc = start_sender(transport, port, rate, count, seed=seed, bind=bind)
    SENDERS.append(proc)
    return proc


def cleanup() -> None:
    for proc in SENDERS:
        if proc.poll() is None:
            proc.kill()
    for node in list(LIVE):
        node.kill()


def receiver_counters(log: str) -> dict[str, dict[str, int]]:
    """The receivers' final counters (logged by `netobs ingest` when it stops), {} if not logged."""
    import ast

    for line in reversed(log.splitlines()):
        if STOPPED_MARK in line:
            counters: dict[str, dict[str, int]] = ast.literal_eval(line.split(STOPPED_MARK, 1)[1])
            return counters
    return {}


def log_figures(log: str) -> Figures:
    """What the node's log says: ERROR lines, and warnings or errors about dropping or loss (the first few)."""
    lines = log.splitlines()
    loud = [line for line in lines if " WARNING " in line or " ERROR " in line]
    losses = [line for line in loud if re.search(r"dropp|lost|loss|unacknowledged|behind", line)]
    errors = dict.fromkeys(line.split(" ERROR ", 1)[1][:200] for line in lines if " ERROR " in line)
    return {
        "log_errors": sum(" ERROR " in line for line in lines),
        "log_error_examples": list(errors)[:3],
        "log_loss_lines": len(losses),
        "log_loss_examples": [line[:300] for line in losses[:3]],
    }


# --- garbage ------------------------------------------------------------------------------------------------


def garbage_datagrams(count: int, seed: int) -> list[bytes]:
    """Random bytes, and real lines truncated, bit-flipped or stuffed with random words: each a new shape."""
    rng = random.Random(seed)
    real = syslog_lines(min(count, 5_000), seed)
    result = []
    for i in range(count):
        line = bytearray(real[i % len(real)])
        kind = i % 4
        if kind == 0:
            result.append(rng.randbytes(rng.randint(1, 1200)))
            continue
        if kind == 1:
            line = line[: rng.randint(1, len(line))]
        elif kind == 2:
            for _ in range(rng.randint(1, 12)):
                line[rng.randrange(len(line))] = rng.randrange(256)
        else:
            words = [rng.randbytes(rng.randint(2, 10)).hex().encode() for _ in range(rng.randint(2, 8))]
            cut = rng.randrange(len(line))
            line = line[:cut] + b" " + b" ".join(words) + b" " + line[cut:]
        result.append(bytes(line))
    return result


def flood_udp(port: int, datagrams: list[bytes], rate: float, count: int, result: Figures) -> None:
    """Send count datagrams from GARBAGE_FROM (the bench's own thread; sendmmsg releases the GIL)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.bind((GARBAGE_FROM, 0))
        sock.connect((HOST, port))
        started = time.monotonic()
        sent, failed, _ = _send_udp_ring(sock, datagrams, rate, count)
        result.update(garbage_sent=sent, garbage_errors=failed, garbage_seconds=round(time.monotonic() - started, 1))


def broken_tcp_frames(port: int, connections: int, seed: int) -> int:
    """Connections from GARBAGE_FROM that each send one malformed frame and hang up; returns how many got in."""
    rng = random.Random(seed)
    frames = (
        lambda: b"99999 <13>Dec  4 00:00:00 h t: octet count larger than the frame",
        lambda: b"12x <13>not a number before the space\n",
        lambda: b"<13>" + b"A" * rng.randint(70_000, 200_000),
        lambda: rng.randbytes(rng.randint(100, 5000)).replace(b"\n", b"\0"),
        lambda: b"\n\n\n" + b"0 " * 500,
    )
    done = 0
    for i in range(connections):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((GARBAGE_FROM, 0))
                sock.settimeout(5)
                sock.connect((HOST, port))
                sock.sendall(frames[i % len(frames)]())
                done += 1
        except OSError:
            pass
    return done


def garbage_threads(node: Node, args: argparse.Namespace, result: Figures) -> list[threading.Thread]:
    datagrams = garbage_datagrams(min(args.garbage, 50_000), args.seed)
    flood = threading.Thread(
        target=flood_udp, args=(node.syslog_port, datagrams, args.garbage_rate, args.garbage, result), daemon=True
    )

    def frames() -> None:
        result["broken_tcp_frames"] = broken_tcp_frames(node.syslog_port, args.broken_frames, args.seed)

    threads = [flood, threading.Thread(target=frames, daemon=True)]
    for thread in threads:
        thread.start()
    return threads


Series = list[tuple[float, int, int]]
"""(time, every syslog row, distinct lines matching a filter) at each poll."""


def poll(node: Node, where: str, series: Series) -> tuple[int, int]:
    rows, distinct = node.stored(where)
    series.append((time.monotonic(), node.stored()[0], distinct))
    return rows, distinct


def wait_stored(
    node: Node, where: str, target: int, timeout: float, series: Series | None = None
) -> tuple[int, int, float | None]:
    """Poll until target distinct lines matching where are stored or timeout; (rows, distinct, seconds or None)."""
    started = time.monotonic()
    while True:
        rows, distinct = poll(node, where, series if series is not None else [])
        if distinct >= target:
            return rows, distinct, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return rows, distinct, None
        time.sleep(POLL_SECONDS)


def rate_between(series: Series, start: float, end: float) -> float | None:
    """Rows stored per second between the first and last poll in [start, end]."""
    points = [(t, n) for t, n, _ in series if start <= t <= end]
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    return round((points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]))


def phase_garbage(work: Path, args: argparse.Namespace) -> Figures:
    node = Node(work / "garbage")
    result: Figures = {"start_seconds": round(node.start_seconds)}
    try:
        series: Series = []
        clean_where = f"source = '{args.clean_from}'"
        started = time.monotonic()
        threads = garbage_threads(node, args, result)
        clean_seconds = args.garbage / args.garbage_rate
        clean = sender("tcp", node.syslog_port, args.clean / max(clean_seconds, 1), args.clean, args.clean_from, seed=7)
        while clean.poll() is None or any(thread.is_alive() for thread in threads):
            poll(node, clean_where, series)
            time.sleep(POLL_SECONDS)
        sent = finish_sender(clean, 60)
        sending_done = time.monotonic()
        rows, distinct, seconds = wait_stored(node, clean_where, sent["sent"], args.drain_timeout, series)
        end = time.monotonic()
        result.update(
            clean_sent=sent["sent"],
            send_seconds=round(sending_done - started, 1),
            clean_stored_when_sending_ended=next((d for t, _, d in series if t >= sending_done), None),
            clean_stored=distinct,
            clean_lost=sent["sent"] - distinct,
            duplicated=rows - distinct,
            drain_seconds_after_sending=None if seconds is None else round(seconds, 1),
            drained=seconds is not None,
            garbage_stored=node.stored(f"source = '{GARBAGE_FROM}' AND transport = 'udp'")[1],
            stored_per_s_during=rate_between(series, started, sending_done),
            stored_per_s_after=rate_between(series, sending_done, end),
            rss_peak_mb=node.rss.peak(),
        )
    finally:
        result.update(node.stop(args.stop_timeout))
        log = node.log_text()
        result.update(log_figures(log))
        result["receivers"] = receiver_counters(log)
    return result


def phase_stop_under_load(work: Path, args: argparse.Namespace) -> Figures:
    data = work / "stop"
    node = Node(data)
    result: Figures = {"start_seconds": round(node.start_seconds)}
    where = "transport = 'tcp' AND source = '127.0.0.1'"
    try:
        threads = garbage_threads(node, _with(args, garbage=args.stop_garbage, broken_frames=0), result)
        sent = finish_sender(sender("tcp", node.syslog_port, args.stop_rate, args.stop_count), 600)
        for thread in threads:
            thread.join()
        result["sent"] = sent["sent"]
        result["stored_before_stop"] = node.stored(where)[1]
        result["rss_peak_mb"] = node.rss.peak()
    finally:
        result.update(node.stop(args.stop_timeout))
        log = node.log_text()
        result.update(log_figures(log))
        result["receivers"] = receiver_counters(log)
    say(f"  stopped in {result['stop_seconds']} s (code {result['exit_code']}); restarting on the same data")
    again = Node(data, node.ports)
    try:
        rows, distinct, seconds = wait_stored(again, where, result["sent"], args.drain_timeout)
        result.update(
            restart_seconds=round(again.start_seconds),
            stored_after_restart=distinct,
            lost=result["sent"] - distinct,
            duplicated=rows - distinct,
            drain_seconds_after_restart=None if seconds is None else round(seconds, 1),
        )
    finally:
        result["second_stop"] = again.stop(args.stop_timeout)
        result["restart_log"] = log_figures(again.log_text())
    return result


def _with(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changes})


def phase_broker_outage(work: Path, args: argparse.Namespace) -> Figures:
    node = Node(work / "outage")
    result: Figures = {"start_seconds": round(node.start_seconds)}
    transport = args.outage_transport
    where = f"transport = '{transport}'"
    try:
        count = int(args.outage_rate * args.outage_duration)
        proc = sender(transport, node.syslog_port, args.outage_rate, count)
        time.sleep(args.outage_after)
        java = node.broker_pid()
        os.kill(java, signal.SIGSTOP)
        paused = time.monotonic()
        say(f"  broker (pid {java}) paused for {args.outage:.0f} s")
        try:
            time.sleep(args.outage)
        finally:
            os.kill(java, signal.SIGCONT)
        result["paused_seconds"] = round(time.monotonic() - paused, 1)
        sent = finish_sender(proc, 600)
        rows, distinct, seconds = wait_stored(node, where, sent["sent"], args.drain_timeout)
        result.update(
            sent=sent["sent"],
            send_seconds=round(sent["seconds"], 1),
            stored=distinct,
            lost=sent["sent"] - distinct,
            duplicated=rows - distinct,
            drain_seconds_after_sending=None if seconds is None else round(seconds, 1),
            node_alive_after=node.proc.poll() is None,
            rss_peak_mb=node.rss.peak(),
        )
    finally:
        result.update(node.stop(args.stop_timeout))
        log = node.log_text()
        result.update(log_figures(log))
        got = receiver_counters(log).get(transport, {})
        names = ("received", "delivered", "dropped", "connections", "kernel_dropped", "spooled", "dropped_spool_full")
        result[f"receivers_{transport}"] = {k: got.get(k) for k in names}
    return result


def phase_burst(work: Path, args: argparse.Namespace) -> Figures:
    node = Node(work / "burst")
    result: Figures = {"start_seconds": round(node.start_seconds)}
    try:
        time.sleep(args.idle)
        started = time.monotonic()
        result["rss_idle_mb"] = node.rss.typical(started - args.idle, started)
        count = int(args.burst_rate * args.burst_seconds)
        procs = [sender(t, node.syslog_port, args.burst_rate, count, seed=3) for t in ("udp", "tcp")]
        sent = [finish_sender(p, 120 + 3 * args.burst_seconds) for p in procs]
        burst_end = time.monotonic()
        say(f"  burst sent in {burst_end - started:.0f} s; settling {args.settle:.0f} s")
        time.sleep(args.settle)
        end = time.monotonic()
        rows, distinct = node.stored()
        result.update(
            sent=sum(s["sent"] for s in sent),
            sent_per_s=round(sum(s["rate"] for s in sent)),
            send_seconds=round(burst_end - started, 1),
            stored_by_end=distinct,
            duplicated=rows - distinct,
            rss_peak_mb=node.rss.peak(started, end),
            rss_settled_mb=node.rss.typical(end - min(10.0, args.settle), end),
        )
        # The worker may still be storing the burst: the size it returns to is taken once it is done.
        _, drained, seconds = wait_stored(node, "1", result["sent"], args.drain_timeout)
        result["drain_seconds_after_settle"] = None if seconds is None else round(seconds, 1)
        time.sleep(args.settle)
        result["rss_drained_mb"] = node.rss.typical(time.monotonic() - min(10.0, args.settle), time.monotonic())
        result["stored_after_drain"] = drained
    finally:
        result.update(node.stop(args.stop_timeout))
        log = node.log_text()
        result.update(log_figures(log))
        counters = receiver_counters(log)
        names = ("received", "delivered", "dropped", "kernel_dropped")
        result["receivers"] = {t: {k: c.get(k) for k in names} for t, c in counters.items()}
    return result


RUNNERS: dict[str, Callable[[Path, argparse.Namespace], Figures]] = {
    "garbage": phase_garbage,
    "stop_under_load": phase_stop_under_load,
    "broker_outage": phase_broker_outage,
    "burst": phase_burst,
}


@contextlib.contextmanager
def everything_killed(scratch: Path | None) -> Iterator[None]:
    """Senders and nodes die with the bench, however it ends (Ctrl-C, SIGTERM, an error); scratch is removed."""
    exit_on_sigterm()
    try:
        yield
    finally:
        cleanup()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (data dirs, node logs)")
    parser.add_argument("--stop-timeout", type=float, default=90, help="seconds a SIGTERMed node gets (issue: 90)")
    parser.add_argument("--drain-timeout", type=float, default=60, help="seconds to wait for lines to be stored")
    g = parser.add_argument_group("garbage (issue: --garbage 200000 --clean 10002 --drain-timeout 360)")
    g.add_argument("--garbage", type=int, default=30_000, help="random/mutated datagrams from 127.0.0.2")
    g.add_argument("--garbage-rate", type=float, default=3_000, help="datagrams/s")
    g.add_argument("--broken-frames", type=int, default=50, help="TCP connections with one malformed frame")
    g.add_argument(
        "--clean", type=int, default=3_000, help="numbered TCP lines from --clean-from, spread over the flood"
    )
    g.add_argument(
        "--clean-from",
        default=CLEAN_FROM,
        help="the clean sender's address; 127.0.0.9 shares the garbage sender's partition (of 4)",
    )
    s = parser.add_argument_group("stop_under_load (the issue's stall: --stop-garbage 100000 --garbage-rate 5000)")
    s.add_argument("--stop-count", type=int, default=60_000, help="clean TCP lines in the backlog")
    s.add_argument("--stop-rate", type=float, default=20_000, help="lines/s")
    s.add_argument("--stop-garbage", type=int, default=10_000, help="garbage datagrams sent alongside")
    o = parser.add_argument_group("broker_outage (issue: 1k lines/s, Kafka stopped 70 s; the defaults)")
    o.add_argument("--outage-rate", type=float, default=1_000, help="lines/s")
    o.add_argument(
        "--outage-transport",
        choices=("tcp", "udp"),
        default="tcp",
        help="udp at 5000 lines/s puts more than the 200,000-line memory queue through the spool",
    )
    o.add_argument("--outage-duration", type=float, default=90, help="seconds of sending")
    o.add_argument("--outage-after", type=float, default=10, help="seconds of sending before the pause")
    o.add_argument("--outage", type=float, default=70, help="seconds the broker stays SIGSTOPped")
    b = parser.add_argument_group("burst (issue: 3.1 M lines in 50 s: --burst-rate 31000 --burst-seconds 50)")
    b.add_argument("--burst-rate", type=float, default=15_000, help="lines/s over UDP and as many over TCP")
    b.add_argument("--burst-seconds", type=float, default=30)
    b.add_argument("--idle", type=float, default=5, help="seconds of idle RSS before the burst")
    b.add_argument("--settle", type=float, default=30, help="seconds of RSS after the burst, and after it is stored")
    args = parser.parse_args(argv)
    args.phase_list = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phase_list) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work = scratch_dir("netobs-bench-faults-")
    say(f"fault injection into `netobs run`, scratch {work}; phases {', '.join(args.phase_list)}")
    results: Figures = {}
    with everything_killed(None if args.keep else work):
        for phase in args.phase_list:
            say(f"{phase}:")
            started = time.monotonic()
            try:
                figures = RUNNERS[phase](work, args)
            except Exception as exc:  # a failed phase is a figure too; the others still run
                figures = {"error": f"{exc!r}"[:2000]}
                say(traceback.format_exc()[-3000:])
            figures["phase_seconds"] = round(time.monotonic() - started)
            results[phase] = figures
            cleanup()
            say(f"  {json.dumps(figures)}")
    options = {k: v for k, v in vars(args).items() if k not in ("phases", "phase_list", "keep")}
    print(json.dumps({"options": options, "phases": results}), flush=True)
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
