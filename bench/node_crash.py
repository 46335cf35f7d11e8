"""Whole-node crash: numbered lines over TCP at a steady rate into `netobs run` (embedded Apache Kafka), then
every process of the node, broker included, SIGKILLed at once shortly after the last line, and the node
started again on the same data directory.

Beside it, as the baseline, the same run ended by SIGTERM (a clean stop: receivers drain, the worker stores
what is left). For each run: lines sent, lines in the raw topic after the restart (what the receivers had
handed to the broker), lines that were still in a receiver when it died (sent minus those), and what the
syslog table holds once the restarted worker caught up: every line of the raw topic must be stored exactly
once (lost_after_broker and duplicates 0). Plain TCP has no acknowledgement, so what a receiver held is
lost to the crash; RELP closes that gap (bench/relp.py). The last line printed is one JSON object.

    .venv/bin/python bench/node_crash.py [--count 200000] [--rate 20000] [--after 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netobs import broker_auth
from tests import brokers
from tests.integration.pipeline import TOKEN, call, node_env, wait_for, wait_port
from tests.rsyslog import numbered, raw_line_numbers

START_SECONDS = 180


def _env(data: Path, ports: dict[str, int]) -> dict[str, str]:
    env = node_env(
        "",
        data,
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_LOG_LEVEL="WARNING",
    )
    for name in ("NETOBS_KAFKA", "NETOBS_KAFKA_BOOTSTRAP", "NETOBS_CLICKHOUSE"):
        env.pop(name, None)
    return env


def _start(data: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    log_path = data / "run.log"
    proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=_env(data, ports))
    wait_port(ports["mcp"], proc, log_path, timeout=START_SECONDS)
    return proc


def _tree(pid: int) -> list[int]:
    """pid and every process below it."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for child, parent in (map(int, line.split()) for line in out.splitlines()):
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _send(port: int, lines: list[bytes], per_second: int) -> None:
    """Newline-framed over one TCP connection, in slices of 1/50 s, paced to per_second."""
    chunk = max(1, per_second // 50)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        for i in range(0, len(lines), chunk):
            sock.sendall(b"".join(line + b"\n" for line in lines[i : i + chunk]))
            ahead = (i + chunk) / per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)


def _stored(url: str, marker: str) -> tuple[int, int]:
    query = f"SELECT count(), uniqExact(message) FROM syslog WHERE position(message, '{marker}') > 0"
    rows, distinct = asyncio.run(call(url, "run_select_query", {"query": query}))["rows"][0]
    return int(rows), int(distinct)


def run(work: Path, count: int, rate: int, after: float, crash: bool) -> dict[str, float | int]:
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp")}
    data = work / ("crash" if crash else "clean")
    data.mkdir(parents=True)
    marker = f"crash-{uuid.uuid4().hex[:8]}"
    node = _start(data, ports)
    try:
        sender = threading.Thread(target=_send, args=(ports["syslog"], numbered(marker, count), rate))
        started = time.monotonic()
        sender.start()
        sender.join()
        sent_seconds = time.monotonic() - started
        time.sleep(after)
        if crash:
            for pid in _tree(node.pid):  # all at once: a parent-death signal would let the children stop cleanly
                os.kill(pid, signal.SIGKILL)
        brokers.stop(node)
    finally:
        brokers.stop(node)
    node = _start(data, ports)
    try:
        reader = broker_auth.stage_access(data, f"127.0.0.1:{ports['kafka']}", "worker")
        in_broker, _ = asyncio.run(raw_line_numbers(reader, marker))
        url = f"http://127.0.0.1:{ports['mcp']}/mcp"
        wait_for(lambda: _stored(url, marker)[1] >= len(in_broker), 300, "the restarted worker to store the raw topic")
        time.sleep(3)  # records stored twice would show up by now
        rows, distinct = _stored(url, marker)
    finally:
        brokers.stop(node)
    figures: dict[str, float | int] = {
        "sent": count,
        "send_seconds": round(sent_seconds, 2),
        "in_broker": len(in_broker),
        "raw_duplicates": sum(in_broker.values()) - len(in_broker),
        "still_in_receiver": count - len(in_broker),
        "stored": rows,
        "lost_after_broker": len(in_broker) - distinct,
        "duplicates": rows - distinct,
    }
    print(f"{'crash' if crash else 'clean':6} {figures}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000, help="lines/s over TCP")
    parser.add_argument("--after", type=float, default=0.2, help="seconds from the last line to the kill")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netobs-bench-crash-"))
    clean = run(work, args.count, args.rate, args.after, crash=False)
    crash = run(work, args.count, args.rate, args.after, crash=True)
    print(json.dumps({"count": args.count, "rate": args.rate, "after": args.after, "clean": clean, "crash": crash}))
    ok = all(f["lost_after_broker"] == 0 and f["duplicates"] == 0 for f in (clean, crash))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
