"""Whole-node crash: numbered lines over TCP at a steady rate into `netobs run` (embedded Apache Kafka), then
every process of the node, broker included, SIGKILLed at once shortly after the last line, and the node
started again on the same data directory.

Beside it, as the baseline, the same run ended by SIGTERM (a clean stop: receivers drain, the worker stores
what is left). For each run: lines sent, lines in the raw topic after the restart (what the receivers had
handed to the broker), lines that were still in a receiver when it died (sent minus those), and what the
syslog table holds once the restarted worker caught up: every line of the raw topic must be stored exactly
once (lost_after_broker and duplicates 0). Plain TCP has no acknowledgement, so what a receiver held is
lost to the crash; RELP closes that gap (bench/relp.py). Then, on the crashed node's data, `netobs replay`
empties the projection tables and the next start rebuilds them from the topics: every projection table must
come back identical (row count and an order-free hash of every row, read from the stopped node's store).
The last line printed is one JSON object.

    .venv/bin/python bench/node_crash.py [--count 200000] [--rate 20000] [--after 0.2] [--no-replay]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netobs import broker_auth
from tests import brokers
from tests.integration.pipeline import TOKEN, call, own_node_env, wait_for, wait_port
from tests.rsyslog import numbered, raw_line_numbers

START_SECONDS = 180


def _env(data: Path, ports: dict[str, int]) -> dict[str, str]:
    env = own_node_env(
        data,
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_LOG_LEVEL="WARNING",
    )
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


FINGERPRINT = """
import json, sys
import clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
skip = {"resource_monitor", "miner_state", "processor_state", "schema_migrations", "mcp_audit"}
engines = dict(client.query("SELECT name, engine FROM system.tables WHERE database = 'netobs'").result_rows)
out = {}
for table in sorted(set(engines) - skip):
    final = " FINAL" if "Replacing" in engines[table] else ""
    n, h = client.query(f"SELECT count(), groupBitXor(cityHash64(*)) FROM netobs.{table}{final}").result_rows[0]
    out[table] = [int(n), str(h)]
print(json.dumps(out))
"""
"""Row count and an order-free hash of every row of each projection table (resource_monitor watches the
process itself, the miner and state snapshots are internal, and mcp_audit gains this bench's own queries while
it waits for the rebuild: they are left out)."""


def _fingerprint(data: Path) -> dict[str, list[Any]]:
    """The projection tables of a stopped node's store, read in a process of its own (one chdb path per
    process)."""
    done = subprocess.run(
        [sys.executable, "-c", FINGERPRINT, str(data / "clickhouse")], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def replay_identical(data: Path, ports: dict[str, int], marker: str, rows: int) -> dict[str, Any]:
    """Fingerprint the stopped node's tables, `netobs replay`, start and let it rebuild, stop, compare."""
    before = _fingerprint(data)
    started = time.monotonic()
    replay = subprocess.run(
        [sys.executable, "-m", "netobs", "replay"], env=_env(data, ports), capture_output=True, text=True, timeout=600
    )
    if replay.returncode != 0:
        return {"replayed": False, "error": replay.stderr[-500:]}
    node = _start(data, ports)
    try:
        url = f"http://127.0.0.1:{ports['mcp']}/mcp"
        wait_for(lambda: _stored(url, marker)[0] >= rows, 600, "the replay to rebuild the syslog table")
        time.sleep(10)  # the smaller topics (events, audit, inventory) are rebuilt beside it
    finally:
        brokers.stop(node)
    after = _fingerprint(data)
    differ = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
    return {
        "replayed": True,
        "seconds": round(time.monotonic() - started, 1),
        "tables": len(before),
        "rows": sum(n for n, _ in before.values()),
        "identical": not differ,
        "differ": {t: {"before": before.get(t), "after": after.get(t)} for t in differ},
    }


def run(work: Path, count: int, rate: int, after: float, crash: bool, replay: bool = False) -> dict[str, Any]:
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
    figures: dict[str, Any] = {
        "sent": count,
        "send_seconds": round(sent_seconds, 2),
        "in_broker": len(in_broker),
        "raw_duplicates": sum(in_broker.values()) - len(in_broker),
        "still_in_receiver": count - len(in_broker),
        "stored": rows,
        "lost_after_broker": len(in_broker) - distinct,
        "duplicates": rows - distinct,
    }
    if replay:
        figures["replay"] = replay_identical(data, ports, marker, rows)
    print(f"{'crash' if crash else 'clean':6} {figures}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000, help="lines/s over TCP")
    parser.add_argument("--after", type=float, default=0.2, help="seconds from the last line to the kill")
    parser.add_argument("--no-replay", action="store_true", help="skip the replay of the crashed node's data")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netobs-bench-crash-"))
    clean = run(work, args.count, args.rate, args.after, crash=False)
    crash = run(work, args.count, args.rate, args.after, crash=True, replay=not args.no_replay)
    print(json.dumps({"count": args.count, "rate": args.rate, "after": args.after, "clean": clean, "crash": crash}))
    ok = all(f["lost_after_broker"] == 0 and f["duplicates"] == 0 for f in (clean, crash))
    ok = ok and crash.get("replay", {"identical": True})["identical"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
