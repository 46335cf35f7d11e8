"""Single-node mode: broker, receivers, worker and MCP service on 127.0.0.1, storing in embedded ClickHouse.

The process that writes chdb must also answer its queries (one process per chdb path), so the worker and
the MCP service live here, each on its own event loop; the receivers run in a child process so that
receiving never competes with parsing for the interpreter lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import TopicPartition

from common import kafka_client, migrations, pressure, progress
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.metrics import Source
from common.sealing import load_or_create_key
from executor import inventory_seed
from netobs import broker, broker_auth, children, logs, mcp_service, metrics_endpoint, signals
from netobs.config import Config
from netobs.memory import policy as memory_policy
from netobs.memory.watch import MemoryWatch, node_hooks
from netobs.worker_thread import WorkerThread
from processors.app import Worker, lag_by_partition, make_app
from processors.tables.projector import Keys as WorkerKeys
from query_mcp import service as mcp_http
from query_mcp.auth.credentials import TOKEN_FILE, load_or_create_token
from query_mcp.clickhouse_http import server as clickhouse_http
from query_mcp.metrics import Metrics
from schemas.topics import SYSLOG_RAW

log = logging.getLogger(__name__)

EDGES_STOP_SECONDS = 10.0
DRAIN_SECONDS = 20.0
WORKER_STOP_SECONDS = 15.0
CATCH_UP_SECONDS = 10.0
CATCH_UP_RECORDS = 10_000
"""A worker this many records behind reports its catch-up; fewer are gone before anyone waits."""
BROKER_STOP_SECONDS = 20.0
"""A controlled shutdown flushes and closes the logs; a broker killed instead recovers them on the next start."""
STOP_SECONDS = 75.0
"""The documented bound of a stop: the steps' bounds (the MCP service's 5 s included), plus a margin."""


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
    edge_env: dict[str, dict[str, str]] = {}
    edges = children.Children(
        lambda name: children.spawn(
            [sys.executable, "-m", "netobs", name], ignore=(pressure.SHED, pressure.RESUME), env=edge_env[name]
        )
    )
    thread = None
    status = 0
    deadline = signals.StopDeadline(STOP_SECONDS, lambda: _kill(edges.procs, broker_proc))
    # Before anything (the metrics endpoint's authenticator) creates the admin token: is this its first start?
    fresh = not config.mcp.token and not (config.data_dir / TOKEN_FILE).exists()
    sockets = Path(tempfile.mkdtemp(prefix="netobs-metrics-"))
    """The children's metrics sockets (a short path: a unix socket's is limited to 107 bytes)."""
    endpoint = contextlib.ExitStack()
    try:
        bootstrap = config.kafka.bootstrap
        child_env: dict[str, dict[str, str]] = {}
        if bootstrap:
            admin = kafka_client.access(config.kafka)
            stages = {name: admin for name in broker_auth.STAGES}  # an existing cluster: this process's principal
        else:
            # Spawned from this (main) thread: a child's parent-death signal follows the thread that started it.
            started = time.monotonic()
            groups = (config.worker.group_id, config.actions.group_id)
            embedded = broker.start(config.kafka, config.data_dir, log=log.info, groups=groups)
            broker_proc, bootstrap, admin = embedded.proc, embedded.bootstrap, embedded.admin
            log.info("embedded Apache Kafka on %s, ready in %.1f s", bootstrap, time.monotonic() - started)
            logs.probe_broker(functools.partial(kafka_client.answers, admin, logs.PROBE_SECONDS))
            stages = {name: broker_auth.stage_access(config.data_dir, bootstrap, name) for name in broker_auth.STAGES}
            child_env = {name: broker_auth.stage_environment(config.data_dir, name) for name in broker_auth.STAGES}
        await ensure_topics(admin, config.kafka.partitions, config.kafka.replication_factor)
        applied = await asyncio.to_thread(migrate, config)
        log.info(
            "ClickHouse at %s: %s",
            config.clickhouse_dsn,
            f"applied {applied}" if applied else "schema up to date",
        )
        # Every key before the stages that share them start, so none races another to create one.
        keys = worker_keys(config)
        if config.inventory.seed_file:
            await inventory_seed.seed(stages["executor"], config.inventory.seed_file, keys.inventory)
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
                edge_env[name] = {
                    **env,
                    **child_env.get(name, {}),
                    metrics_endpoint.SOCKET_ENV: str(sockets / f"{name}.sock"),
                }
                edges.start(name)
        thread = WorkerThread(
            make_app(
                stages["worker"],
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
        mcp_metrics = Metrics()
        own = metrics_endpoint.registry()
        own.register(metrics_endpoint.worker_source(thread.worker))
        memory = _memory_watch(config, edges, broker_proc, thread)
        own.register(Source(memory.families))
        exposition = metrics_endpoint.registry_of(
            metrics_endpoint.NodeCollector(
                own,
                {name: sockets / f"{name}.sock" for name in edges.procs},
                mcp_metrics.render if config.mcp.transport == "http" else None,
            )
        )
        endpoint.enter_context(metrics_endpoint.serving(config, exposition, "node"))
        tasks = [
            asyncio.create_task(_watch(edges, broker_proc, thread, stop)),
            asyncio.create_task(_catch_up(thread.worker, stop)),
        ]
        if config.memory.enabled:
            tasks.append(asyncio.create_task(memory.run(stop)))
        token_line = None
        if config.mcp.transport == "http" or mcp_service.serves_clickhouse_http(config):
            token = load_or_create_token(config.mcp.token, config.data_dir)
            store = mcp_service.open_store(config)
        if config.mcp.transport == "http":
            tasks.append(asyncio.create_task(mcp_service.serve_mcp(config, store, stages["mcp"], stop, mcp_metrics)))
            token_line = _token_line(config, token, fresh)
        if mcp_service.serves_clickhouse_http(config):
            tasks.append(asyncio.create_task(mcp_service.serve_clickhouse_http(config, store, stages["mcp"], stop)))
        _banner(config, bootstrap, token_line)
        await stop.wait()
        deadline.arm()
        log.info("stopping (within %.0f s): receivers first, then the worker once it has stored what they sent",
                 STOP_SECONDS)  # fmt: skip
        deadline.step = "stopping the receivers, poller and executor"
        await asyncio.to_thread(edges.stop_all, EDGES_STOP_SECONDS)
        deadline.step = "waiting for the worker to store what was received"
        await _drain(stages["worker"], thread.worker)
        deadline.step = "stopping the MCP service"
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [name for name, proc in edges.procs.items() if proc.returncode not in (0, -signal.SIGTERM)]
        # The broker is stopped below: one that has exited already died on its own (the node's children run
        # in sessions of their own, so a Ctrl-C does not reach it).
        broker_died = broker_proc is not None and broker_proc.poll() is not None
        status = 1 if thread.error or failed or broker_died else 0
    except Exception as exc:
        log.error("%s", exc)
        status = 1
    finally:
        deadline.arm()
        edges.stop_all(EDGES_STOP_SECONDS)
        if thread is not None:
            deadline.step = "stopping the worker"
            await asyncio.to_thread(thread.stop, WORKER_STOP_SECONDS)
            if thread.is_alive():
                log.warning("worker did not stop in %.0f s; what it had not committed is stored on the next start",
                            WORKER_STOP_SECONDS)  # fmt: skip
        if broker_proc is not None:
            deadline.step = "stopping the broker"
            children.stop(broker_proc, timeout=BROKER_STOP_SECONDS)
        endpoint.close()
        shutil.rmtree(sockets, ignore_errors=True)
        deadline.done()
        log.info("netobs stopped")
    return status


def _kill(edges: dict[str, subprocess.Popen[bytes]], broker_proc: subprocess.Popen[bytes] | None) -> None:
    """The stop deadline's last resort: SIGKILL every child, the broker last."""
    for proc in [*edges.values(), *([broker_proc] if broker_proc is not None else [])]:
        if proc.poll() is None:
            proc.kill()


def _memory_watch(
    config: Config, edges: children.Children, broker_proc: subprocess.Popen[bytes] | None, thread: WorkerThread
) -> MemoryWatch:
    """The memory watch of this node: its children, its broker and its worker (netobs.memory)."""

    async def restart(name: str) -> None:
        await edges.restart(name, EDGES_STOP_SECONDS)

    hooks = node_hooks(
        lambda: {name: proc.pid for name, proc in edges.procs.items() if proc.poll() is None},
        lambda: broker_proc.pid if broker_proc is not None and broker_proc.poll() is None else None,
        thread.pause,
        restart,
    )
    return MemoryWatch(config.memory, memory_policy.kinds(config), hooks)


async def _watch(
    edges: children.Children, broker_proc: subprocess.Popen[bytes] | None, thread: WorkerThread, stop: asyncio.Event
) -> None:
    """Stop the node when a part dies (the embedded broker included), rather than run half-blind; a child the
    memory watch restarts is not dead."""
    while not stop.is_set():
        dead = edges.exited()
        if broker_proc is not None and broker_proc.poll() is not None:
            dead.insert(0, ("broker", broker_proc.returncode))  # the cause when its clients died of it
        if dead:
            log.error("%s exited with %s; stopping", dead[0][0], dead[0][1])
            if dead[1:]:
                log.error("also exited: %s", ", ".join(f"{name} ({code})" for name, code in dead[1:]))
            stop.set()
        elif not thread.is_alive():
            log.error("worker stopped unexpectedly; stopping")
            stop.set()
        await asyncio.sleep(0.5)


async def _catch_up(worker: Worker, stop: asyncio.Event) -> None:
    """Say how far the worker is in a long catch-up (the rebuild after `netobs replay`, or a start after a long
    stop): a log line every CATCH_UP_SECONDS while more than CATCH_UP_RECORDS are behind (lines, as the log is)."""
    started, first = time.monotonic(), 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CATCH_UP_SECONDS)
            return
        behind = sum(lag_by_partition(worker).values())
        first = max(first, behind)
        if first < CATCH_UP_RECORDS:
            continue
        elapsed = time.monotonic() - started
        done = first - behind
        log.info("%s", progress.line("catching up with the topics", done, first, elapsed, "records"))
        if behind < CATCH_UP_RECORDS:
            log.info("caught up: %d records in %.0f s", done, elapsed)
            return


async def _drain(kafka: KafkaAccess, worker: Worker) -> None:
    """Wait (bounded) until the worker has stored everything in the raw topic, so a stopped node has stored
    what it received; what is left stays in the topic and is stored on the next start."""
    consumer = kafka_client.consumer(kafka)
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


def _token_line(config: Config, token: str, fresh: bool) -> str:
    """Where the admin token is, never the token itself except once, on the start that created it.

    The banner lands in supervisor and container logs, which more people read than should hold the token.
    """
    if config.mcp.token:
        return "configured (mcp.token / NETOBS_MCP_TOKEN), not shown"
    path = (config.data_dir / TOKEN_FILE).resolve()
    if fresh:
        return f"{token}  (new: shown this once, kept in {path})"
    return f"{token[:4]}... kept in {path}"


def _banner(config: Config, bootstrap: str, token_line: str | None) -> None:
    s, m = config.syslog, config.mcp
    lines = [
        "",
        "netobs single node is running",
        f"  data directory   {config.data_dir.resolve()}",
        f"  broker           {bootstrap}",
        f"  ClickHouse       {config.clickhouse_dsn}",
    ]
    ports = (("udp", s.udp_port), ("tcp", s.tcp_port), ("tls", s.tls_port if s.tls_cert else 0), ("relp", s.relp_port))
    for name, port in ports:
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
    if mcp_service.serves_clickhouse_http(config):
        lines.append(
            f"  ClickHouse HTTP  {clickhouse_http.url(config.clickhouse)} (read-only; named tokens with read:sql)"
        )
    if config.metrics.port:
        lines.append(f"  metrics          http://{config.metrics.bind}:{config.metrics.port}/metrics")
    if token_line:
        lines += [
            f"  MCP              {mcp_http.resource_url(m)} (Streamable HTTP{', SSE at /sse' if m.sse else ''})",
            f"  MCP token        {token_line}",
        ]
    lines += ["  stop with Ctrl-C", ""]
    print("\n".join(lines), file=sys.stderr, flush=True)
