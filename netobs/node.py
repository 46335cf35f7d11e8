"""Single-node mode: broker, receivers, worker and MCP service on 127.0.0.1, storing in embedded ClickHouse.

The process that writes chdb must also answer its queries (one process per chdb path), so the worker and
the MCP service live here, each on its own event loop; the receivers run in a child process so that
receiving never competes with parsing for the interpreter lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from common import migrations
from common.kafka_admin import ensure_topics
from common.sealing import load_or_create_key
from executor import inventory_seed
from netobs import broker, children, mcp_service, signals
from netobs.config import Config
from netobs.worker_thread import WorkerThread
from processors.app import Worker, make_app
from processors.tables.projector import Keys as WorkerKeys
from query_mcp import service as mcp_http
from query_mcp.auth.credentials import load_or_create_token
from schemas.topics import SYSLOG_RAW

log = logging.getLogger(__name__)

DRAIN_SECONDS = 20.0
BROKER_STOP_SECONDS = 30.0
"""A controlled shutdown flushes and closes the logs; a broker killed instead recovers them on the next start."""


def worker_keys(config: Config) -> WorkerKeys:
    """The signing keys the worker checks records with (created on first start)."""
    return WorkerKeys(
        steps=config.signing_key("steps"),
        inventory=config.signing_key("inventory"),
        mcp_audit=config.signing_key("mcp_audit"),
    )


def migrate(config: Config) -> list[str]:
    """Apply the ClickHouse migrations for this configuration."""
    from common.clickhouse import connect

    client = connect(config.clickhouse_dsn)
    applied = migrations.apply(client, config.clickhouse.database, config.clickhouse.retention_days)
    client.close()
    return applied


async def run(config: Config) -> int:
    """Run until SIGINT/SIGTERM or until a part fails; stop the parts in an order that loses nothing."""
    stop = asyncio.Event()
    signals.stop_on_signals(stop)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    broker_proc = None
    edges: dict[str, subprocess.Popen[bytes]] = {}
    thread = None
    status = 0
    try:
        bootstrap = config.kafka.bootstrap
        if not bootstrap:
            # Spawned from this (main) thread: a child's parent-death signal follows the thread that started it.
            started = time.monotonic()
            broker_proc, bootstrap = broker.start(config.kafka, config.data_dir, log=log.info)
            log.info("embedded Apache Kafka on %s, ready in %.1f s", bootstrap, time.monotonic() - started)
        await ensure_topics(bootstrap, config.kafka.partitions, config.kafka.replication_factor)
        applied = await asyncio.to_thread(migrate, config)
        log.info(
            "ClickHouse at %s: %s",
            config.clickhouse_dsn,
            f"applied {applied}" if applied else "schema up to date",
        )
        # Every key before the stages that share them start, so none races another to create one.
        keys = worker_keys(config)
        if config.inventory.seed_file:
            await inventory_seed.seed(bootstrap, config.inventory.seed_file, keys.inventory)
        if config.actions.enabled:
            load_or_create_key(config.command_key_path)
            config.signing_key("commands")
        env = dict(os.environ, NETOBS_KAFKA_BOOTSTRAP=bootstrap, NETOBS_DATA_DIR=str(config.data_dir))
        wanted_edges = (
            ("ingest", True),
            ("traps", config.snmp.trap_port > 0),
            ("poller", config.poller.enabled),
            ("executor", config.actions.enabled),
        )
        for name, wanted in wanted_edges:
            if wanted:
                edges[name] = children.spawn([sys.executable, "-m", "netobs", name], env=env)
        thread = WorkerThread(
            make_app(
                bootstrap,
                config.kafka.partitions,
                config.worker,
                config.clickhouse_dsn,
                config.clickhouse.database,
                keys=keys,
                data_dir=str(config.data_dir),
            )
        )
        thread.start()
        await asyncio.to_thread(thread.started.wait)
        if thread.error:
            raise RuntimeError(f"worker failed to start: {thread.error}")
        tasks = [asyncio.create_task(_watch(edges, thread, stop))]
        if config.mcp.transport == "http":
            token = load_or_create_token(config.mcp.token, config.data_dir)
            store = mcp_service.open_store(config)
            tasks.append(asyncio.create_task(mcp_service.serve_mcp(config, store, bootstrap, stop)))
            _banner(config, bootstrap, token)
        else:
            _banner(config, bootstrap, None)
        await stop.wait()
        log.info("stopping: receivers first, then the worker once it has stored what they sent")
        for proc in edges.values():
            children.stop(proc)
        await _drain(bootstrap, thread.worker)
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [name for name, proc in edges.items() if proc.returncode not in (0, -signal.SIGTERM)]
        status = 1 if thread.error or failed else 0
    except Exception as exc:
        log.error("%s", exc)
        status = 1
    finally:
        for proc in edges.values():
            children.stop(proc)
        if thread is not None:
            await asyncio.to_thread(thread.stop)
        if broker_proc is not None:
            children.stop(broker_proc, timeout=BROKER_STOP_SECONDS)
        log.info("netobs stopped")
    return status


async def _watch(edges: dict[str, subprocess.Popen[bytes]], thread: WorkerThread, stop: asyncio.Event) -> None:
    """Stop the node when a part dies, rather than run half-blind."""
    while not stop.is_set():
        dead = [(name, proc.returncode) for name, proc in edges.items() if proc.poll() is not None]
        if dead:
            log.error("%s exited with %s; stopping", dead[0][0], dead[0][1])
            stop.set()
        elif not thread.is_alive():
            log.error("worker stopped unexpectedly; stopping")
            stop.set()
        await asyncio.sleep(0.5)


async def _drain(bootstrap: str, worker: Worker) -> None:
    """Wait (bounded) until the worker has stored everything in the raw topic, so a stopped node has stored
    what it received; what is left stays in the topic and is stored on the next start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    try:
        await consumer.start()
        parts = consumer.partitions_for_topic(SYSLOG_RAW) or set()
        tps = [TopicPartition(SYSLOG_RAW, p) for p in parts]
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + DRAIN_SECONDS
        # A broker given in NETOBS_KAFKA may be Tansu, which may report an end offset below the last
        # record's when records share a batch, so "caught up" also needs a quiet second with nothing new stored.
        quiet_since, last_count = time.monotonic(), -1
        while time.monotonic() < deadline:
            stored = worker.stored_offsets(SYSLOG_RAW)
            behind = {tp.partition: end - 1 - stored.get(tp.partition, -1) for tp, end in ends.items()}
            count = worker.rows_stored(SYSLOG_RAW)
            if count != last_count:
                quiet_since, last_count = time.monotonic(), count
            if all(n <= 0 for n in behind.values()) and time.monotonic() - quiet_since >= 1.0:
                return
            await asyncio.sleep(0.2)
        log.warning("worker still behind after %.0f s (records per partition: %s)", DRAIN_SECONDS, behind)
    except Exception as exc:
        log.warning("could not check that the worker caught up: %s", exc)
    finally:
        await consumer.stop()


def _banner(config: Config, bootstrap: str, token: str | None) -> None:
    s, m = config.syslog, config.mcp
    lines = [
        "",
        "netobs single node is running",
        f"  data directory   {config.data_dir.resolve()}",
        f"  broker           {bootstrap}",
        f"  ClickHouse       {config.clickhouse_dsn}",
    ]
    for name, port in (("udp", s.udp_port), ("tcp", s.tcp_port), ("tls", s.tls_port if s.tls_cert else 0)):
        if port:
            lines.append(f"  syslog {name:<9} {s.bind}:{port}")
    if config.snmp.trap_port:
        lines.append(f"  snmp traps       {config.snmp.trap_bind}:{config.snmp.trap_port}/udp")
    if config.poller.enabled:
        lines.append(f"  poller           up to {config.poller.concurrency} polls at once")
    if config.actions.enabled:
        a = config.actions
        scope = ", ".join(a.networks) or "managed nodes and inventory networks only"
        lines.append(f"  actions          executor on; targets: {scope}; {a.rate_per_actor}/min per actor")
    if token:
        lines += [
            f"  MCP              {mcp_http.resource_url(m)} (Streamable HTTP{', SSE at /sse' if m.sse else ''})",
            f"  MCP token        {token}",
        ]
    lines += ["  stop with Ctrl-C", ""]
    print("\n".join(lines), file=sys.stderr, flush=True)
