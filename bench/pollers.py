"""Pollers: how many targets one poller process keeps on schedule, beside a naive asyncio poller.

Targets live on 127.0.0.0/8: ICMP echo to 127.1.x.y (the kernel answers) and TCP connects to a few
listeners on 127.0.2.1-127.0.2.K (a child process accepts and closes). Every target is up, so every
failure is the poller's own doing.

  netobs  ingest.pollers.service.serve, in this process, as `netobs poller` runs it: the inventory
          (nodes and pollings) published to Apache Kafka, results produced to it; default
          PollerConfig (concurrency 256, jitter 0.1, batches every 200 ms).
  naive   what the libraries' documentation leads to: one asyncio task per target, sleeping until its
          slot (the same slots as netobs), then icmplib.async_ping (a socket per ping) or
          asyncio.open_connection, with no bound on concurrency.

Schedule: every target polled every --interval seconds (10 by default, a 60 s schedule scaled down;
the jitter rule is the same, slots spread over 10 % of the interval). Lateness = start of a run minus its
slot. A step keeps up when p99 lateness is under 5 % of the interval, at most 0.1 % of runs fail, and at
least 95 % of the slots in the window ran. Both systems run each target count (alternating which goes
first); a system stops climbing after a step it did not keep up with.

The polls per second a burst needs scale as targets / (jitter * interval), so a poller that keeps N
targets at 10 s keeps 6 N at 60 s with the same lateness in seconds (and 5 % of 60 s allows 6 times as
much): `targets_at_60s` is that figure, derived, not measured.

The last line printed is one JSON object with every figure.

    .venv/bin/python bench/pollers.py [--targets 2000,4000,8000,12000,16000] [--interval 10] [--cycles 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
from aiokafka.admin import NewTopic
from icmplib import async_ping

from common import kafka_client
from common.config import PollerConfig
from common.kafka_client import KafkaAccess
from ingest.pollers.counters import PollerCounters
from ingest.pollers.schedule import first_slot, offset
from ingest.pollers.service import serve
from schemas import inventory
from schemas.inventory import InventoryEvent, Node, Polling

PARTITIONS = 4
LATE_SHARE = 0.05
MAX_FAIL_SHARE = 0.001
MIN_RAN_SHARE = 0.95
TIMEOUT_S = 2.0


@dataclass
class Step:
    system: str
    targets: int
    interval_s: float
    window_s: float
    slots: int
    """Slots due in the window (targets x cycles)."""
    ran: int
    failed: int
    late: int
    lateness_p50_s: float | None
    lateness_p99_s: float | None
    lateness_max_s: float | None
    cpu_s: float
    """CPU time of this process during the window (the poller; the broker and listeners are children)."""
    kept_up: bool


def targets_of(count: int, tcp_share: float, listeners: int, port: int) -> list[tuple[Node, Polling]]:
    """Nodes and pollings: every k-th a TCP connect to one of the listeners, the rest ICMP to 127.1.x.y."""
    tcp_every = round(1 / tcp_share) if tcp_share else 0
    out = []
    for i in range(count):
        if tcp_every and i % tcp_every == 0:
            ip, kind, params = f"127.0.2.{i % listeners + 1}", "tcp", {"port": str(port)}
        else:
            ip, kind, params = f"127.1.{i // 250 % 250}.{i % 250 + 1}", "ping", {"count": "1"}
        node = Node(id=f"n{i}", name=f"target-{i}", ip=ip)
        polling = Polling(id=f"p{i}", node_id=node.id, name=kind, kind=kind, params=params)  # type: ignore[arg-type]
        out.append((node, polling))
    return out


def summarise(
    system: str,
    targets: int,
    interval: float,
    cycles: int,
    window: float,
    lateness: list[float],
    failed: int,
    cpu: float,
) -> Step:
    lateness.sort()
    slots = targets * cycles
    p99 = common.percentile(lateness, 99)
    kept = (
        bool(lateness)
        and p99 < LATE_SHARE * interval
        and failed <= MAX_FAIL_SHARE * max(1, len(lateness))
        and len(lateness) >= MIN_RAN_SHARE * slots
    )
    return Step(
        system=system,
        targets=targets,
        interval_s=interval,
        window_s=round(window, 2),
        slots=slots,
        ran=len(lateness),
        failed=failed,
        late=sum(1 for x in lateness if x > LATE_SHARE * interval),
        lateness_p50_s=common.rounded(common.percentile(lateness, 50), 4),
        lateness_p99_s=common.rounded(p99, 4),
        lateness_max_s=common.rounded(lateness[-1] if lateness else math.nan, 4),
        cpu_s=round(cpu, 2),
        kept_up=kept,
    )


# --- netobs ---------------------------------------------------------------------------------------------


async def publish_inventory(kafka: KafkaAccess, targets: list[tuple[Node, Polling]], interval: int) -> str:
    """A fresh one-partition inventory topic holding the step's nodes and pollings; returns its name."""
    topic = f"bench.inventory.{uuid.uuid4().hex[:8]}"
    admin = kafka_client.admin(kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    producer = kafka_client.producer(kafka, acks="all", linger_ms=20)
    await producer.start()
    try:
        now = time.time_ns()
        sends = []
        for node, polling in targets:
            polling = Polling(
                id=polling.id,
                node_id=polling.node_id,
                name=polling.name,
                kind=polling.kind,
                params=polling.params,
                interval_s=interval,
                timeout_s=TIMEOUT_S,
                retries=0,
            )
            for event in (
                InventoryEvent(kind="node", op="upsert", id=node.id, time_ns=now, actor="bench", node=node),
                InventoryEvent(kind="polling", op="upsert", id=polling.id, time_ns=now, actor="bench", polling=polling),
            ):
                sends.append(await producer.send(topic, inventory.encode(event), key=event.key, partition=0))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return topic


async def run_netobs(kafka: KafkaAccess, targets: list[tuple[Node, Polling]], interval: int, cycles: int) -> Step:
    topic = await publish_inventory(kafka, targets, interval)
    counters = PollerCounters()
    stop, ready = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(
        serve(
            PollerConfig(),
            {},
            kafka,
            PARTITIONS,
            stop,
            ready,
            counters=counters,
            log_seconds=3600,
            inventory_topic=topic,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 120)
        counters.take_lateness()
        failed_before = counters.fail + counters.unknown
        cpu, started = time.process_time(), time.monotonic()
        await asyncio.sleep(cycles * interval)
        lateness = counters.take_lateness()
        failed = counters.fail + counters.unknown - failed_before
        cpu, window = time.process_time() - cpu, time.monotonic() - started
    finally:
        stop.set()
        await service
    return summarise("netobs", len(targets), interval, cycles, window, lateness, failed, cpu)


# --- naive baseline -------------------------------------------------------------------------------------


async def run_naive(targets: list[tuple[Node, Polling]], interval: int, cycles: int) -> Step:
    """One task per target on the same slots, the libraries' own calls, no bound on concurrency."""
    records: list[tuple[float, float, bool]] = []
    stopping = False

    async def poll(node: Node, polling: Polling, start: float) -> None:
        due = first_slot(start, interval, offset(polling.id, interval, 0.1))
        while not stopping:
            await asyncio.sleep(max(0.0, due - time.time()))
            began = time.time()
            try:
                if polling.kind == "ping":
                    host = await async_ping(node.ip, count=1, timeout=TIMEOUT_S, privileged=True)
                    up = host.is_alive
                else:
                    async with asyncio.timeout(TIMEOUT_S):
                        _, writer = await asyncio.open_connection(node.ip, int(polling.params["port"]))
                    writer.close()
                    up = True
            except Exception:
                up = False
            records.append((due, began, up))
            due += interval
            while due < time.time():  # a slot already past is skipped, as netobs does
                due += interval

    start = time.time() + 1.0
    end = start + cycles * interval
    tasks = [asyncio.create_task(poll(node, polling, start)) for node, polling in targets]
    cpu = time.process_time()
    try:
        await asyncio.sleep(end - time.time() + TIMEOUT_S + 0.5)
    finally:
        # Python 3.11's asyncio.wait_for (inside icmplib) can swallow a cancellation: cancel until all are gone
        stopping = True
        pending = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
    cpu = time.process_time() - cpu
    in_window = [(due, began, up) for due, began, up in records if start <= due < end]
    lateness = [began - due for due, began, _ in in_window]
    failed = sum(1 for *_, up in in_window if not up)
    return summarise("naive", len(targets), interval, cycles, end - start, lateness, failed, cpu)


# --- TCP listeners (child process) ----------------------------------------------------------------------


def listen(port: int, hosts: int) -> None:
    """Accept and close at once on 127.0.2.1-127.0.2.<hosts>:port until stdin closes (a thread each:
    accept and close run in C, so the listeners cost little of the CPU the poller is measured on)."""

    def serve(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                sock.accept()[0].close()

    sockets = []
    for i in range(hosts):
        sock = socket.socket()
        sock.bind((f"127.0.2.{i + 1}", port))
        sock.listen(4096)
        sockets.append(sock)
        threading.Thread(target=serve, args=(sock,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    for sock in sockets:
        sock.close()


@contextlib.contextmanager
def listeners(hosts: int) -> Iterator[int]:
    port = common.free_port_pair()
    proc = subprocess.Popen(
        [sys.executable, __file__, "listen", "--port", str(port), "--hosts", str(hosts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if proc.stdout is None or proc.stdout.readline().strip() != "ready":
            raise RuntimeError("TCP listeners did not start")
        yield port
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- driver ---------------------------------------------------------------------------------------------


async def run_all(args: argparse.Namespace, kafka: KafkaAccess, port: int) -> list[Step]:
    steps: list[Step] = []
    climbing = {"netobs": True, "naive": True}
    for index, count in enumerate(args.targets):
        targets = targets_of(count, args.tcp_share, args.listeners, port)
        order = ("netobs", "naive") if index % 2 == 0 else ("naive", "netobs")
        for system in order:
            if not climbing[system]:
                continue
            if system == "netobs":
                step = await run_netobs(kafka, targets, args.interval, args.cycles)
            else:
                step = await run_naive(targets, args.interval, args.cycles)
            steps.append(step)
            climbing[system] = step.kept_up
            common.say(
                f"{system:6} {count:6} targets: ran {step.ran}/{step.slots}, failed {step.failed}, "
                f"lateness p50 {step.lateness_p50_s}s p99 {step.lateness_p99_s}s max {step.lateness_max_s}s, "
                f"cpu {step.cpu_s}s -> {'kept up' if step.kept_up else 'fell behind'}"
            )
        if not any(climbing.values()):
            break
    return steps


def kept(steps: list[Step], system: str) -> int:
    """The largest target count the system kept up with, climbing without a miss."""
    best = 0
    for step in steps:
        if step.system == system:
            if not step.kept_up:
                break
            best = step.targets
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="2000,4000,8000,12000,16000", help="target counts to step through")
    parser.add_argument("--interval", type=int, default=10, help="seconds between polls of a target")
    parser.add_argument("--cycles", type=int, default=2, help="intervals measured per step")
    parser.add_argument("--tcp-share", type=float, default=0.5, help="share of targets polled by TCP connect")
    parser.add_argument("--listeners", type=int, default=8, help="TCP listener addresses")
    args = parser.parse_args(argv)
    args.targets = [int(n) for n in args.targets.split(",")]
    common.exit_on_sigterm()
    common.quiet_logs()
    started = time.monotonic()
    work = common.scratch_dir("netobs-bench-pollers-")
    try:
        with common.kafka(work) as broker, listeners(args.listeners) as port:
            # The super user: each step's inventory is a topic of its own, outside the poller principal's ACLs.
            steps = asyncio.run(run_all(args, broker.admin, port))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    netobs, naive = kept(steps, "netobs"), kept(steps, "naive")
    result = {
        "benchmark": "pollers",
        "params": {
            "interval_s": args.interval,
            "cycles": args.cycles,
            "jitter": PollerConfig().jitter,
            "concurrency": PollerConfig().concurrency,
            "tcp_share": args.tcp_share,
            "late_share": LATE_SHARE,
            "broker": common.BROKER,
        },
        "kept_targets": {"netobs": netobs, "naive": naive},
        "targets_at_60s": {"netobs": netobs * 60 // args.interval, "naive": naive * 60 // args.interval},
        "ratio": round(netobs / naive, 2) if naive else None,
        "topped_out": {"netobs": netobs == args.targets[-1], "naive": naive == args.targets[-1]},
        "steps": [asdict(s) for s in steps],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "listen":
        options = argparse.ArgumentParser()
        options.add_argument("--port", type=int, required=True)
        options.add_argument("--hosts", type=int, required=True)
        parsed = options.parse_args(sys.argv[2:])
        listen(parsed.port, parsed.hosts)
        sys.exit(0)
    sys.exit(main())
