"""The netobs command: run a single node, or one stage of a scaled-out deployment, or offline tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from common import kafka_client
from common.clickhouse import StoreHeld, configure_engine
from common.config import ConfigError, KafkaConfig
from netobs import config as config_mod
from netobs import data_dir, logs, signals
from schemas.scopes import SCOPES

log = logging.getLogger("netobs")

EPILOG = """\
Configuration: defaults, then the TOML file given with --config (or NETOBS_CONFIG), then NETOBS_*
environment variables, e.g. NETOBS_DATA_DIR, NETOBS_KAFKA (bootstrap servers), NETOBS_CLICKHOUSE
(chdb:///path or http://host:8123), NETOBS_SYSLOG_UDP_PORT, NETOBS_MCP_PORT, NETOBS_MCP_TOKEN.
See README.md for every setting.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netobs",
        description="Collect network operations data at volume and ask questions of it over MCP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--data-dir", metavar="DIR", help="data directory (default ./data; NETOBS_DATA_DIR)")
    parser.add_argument("--log-level", choices=config_mod.LOG_LEVELS, help="log level (default INFO)")
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="only load and check the configuration COMMAND would run with, say what it resolves to, and exit "
        "(0 when it would start; 2 and the setting at fault when not): a dry run for deployments",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="single node: embedded broker, syslog receivers, worker and MCP service",
        description="Start everything on 127.0.0.1 with embedded defaults. Ctrl-C stops it cleanly.",
    )
    sub.add_parser(
        "ingest",
        help="syslog receivers -> Kafka (scale-out stage)",
        description="Receive syslog over UDP/TCP/TLS and produce it to the raw topic at NETOBS_KAFKA.",
    )
    sub.add_parser(
        "worker",
        help="Faust worker: raw topic -> parse, mine templates -> ClickHouse (scale-out stage)",
        description="Consume the raw topics and store projections in ClickHouse. Run N of them to scale out.",
    )
    sub.add_parser(
        "traps",
        help="SNMP trap and inform receiver -> Kafka (scale-out stage)",
        description="Receive SNMP v1/v2c/v3 traps and informs on NETOBS_SNMP_TRAP_PORT (informs are answered), "
        "check communities and v3 users, name OIDs, and produce them to the trap topic at NETOBS_KAFKA.",
    )
    sub.add_parser(
        "poller",
        help="scheduled polls of the inventory's pollings -> Kafka (scale-out stage)",
        description="Follow the inventory topic and run each polling (ping, snmp, tcp, http, dns, tls) on its "
        "schedule with jitter and bounded concurrency; results go to the poll topic at NETOBS_KAFKA.",
    )
    sub.add_parser(
        "executor",
        help="command executor: MCP actions -> policy -> snmpset/snmpwalk/ping/inventory (scale-out stage)",
        description="Consume the commands topic, apply the actions policy (managed targets, snmpset OID lists, "
        "per-actor rate limits, approvals) and act with pysnmp, ICMP or inventory events; every step goes to "
        "the command results topic. Run one (a second one waits as a standby in the same group).",
    )
    audit = sub.add_parser(
        "audit",
        help="the command audit: verify its hash chain",
        description="Walk command_audit in order and recompute each record's hash from its fields and the hash "
        "before it. Exit 0 when the chain holds, 1 naming the first record that does not (edited, removed or "
        "moved). With the embedded ClickHouse, stop the node first (one process holds it).",
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_sub.add_parser("verify", help="check the chain and name the first broken record")
    inv = sub.add_parser(
        "inventory",
        help="inventory events: seed nodes, pollings and networks from a TOML file",
        description="Publish the nodes, pollings and networks of a seed file (see examples/inventory.toml) that "
        "the inventory topic lacks or has differently. Adding a node adds its PING polling.",
    )
    inv_sub = inv.add_subparsers(dest="inventory_command", required=True, metavar="ACTION")
    seed = inv_sub.add_parser("seed", help="publish a seed file's entities")
    seed.add_argument("file", nargs="?", help="seed file (default: NETOBS_INVENTORY_SEED_FILE)")
    sub.add_parser(
        "replay",
        help="rebuild every projection from the topics (stop the workers first)",
        description="Empty the ClickHouse projections and the saved processor states and rewind the worker group "
        "to the start of every topic; the next worker start rebuilds the tables. Without NETOBS_KAFKA it replays a "
        "stopped single node: its embedded broker is started on the data directory for the rewind.",
    )
    mcp = sub.add_parser(
        "mcp",
        help="MCP service alone (Streamable HTTP, or --stdio for agent hosts)",
        description="Serve the MCP tools. With --stdio, speak MCP on stdin/stdout; when a single node already "
        "holds the embedded ClickHouse, --stdio relays to that node's HTTP endpoint with its token.",
    )
    mcp.add_argument("--stdio", action="store_true", help="serve over stdin/stdout instead of HTTP")
    token = sub.add_parser(
        "token",
        help="named MCP tokens with scopes: add (shown once), list, revoke",
        description="Manage named bearer tokens of the MCP service. Only a SHA-256 digest is stored (in "
        "NETOBS_MCP_TOKENS_FILE, default DATA_DIR/mcp_tokens.toml); the token itself is printed once by add. "
        f"Scopes: {', '.join(SCOPES)}. A running service picks changes up within a second.",
    )
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    add = token_sub.add_parser("add", help="create a token and print it once")
    add.add_argument("name", help="a name for the token (letters, digits, '.', '_', '-'); shown in the audit")
    add.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        required=True,
        help="a scope the token holds; repeat for several",
    )
    add.add_argument("--expires-days", type=float, help="the token stops working after this many days")
    token_sub.add_parser("list", help="names, scopes and expiry of the named tokens (never the tokens)")
    revoke = token_sub.add_parser("revoke", help="remove a named token")
    revoke.add_argument("name")
    sub.add_parser("migrate", help="create or upgrade the ClickHouse tables (idempotent)")
    sub.add_parser(
        "setup",
        help="scale-out: topics, each stage's Kafka principal (SCRAM credential, ACLs) and the signing keys",
        description="Run once before the stages of a scale-out deployment, and again after an upgrade (idempotent). "
        "Connects to NETOBS_KAFKA as the broker's super user (NETOBS_KAFKA_SASL_*), creates the topics, gives every "
        "stage its principal (netobs-ingest, netobs-traps, netobs-poller, netobs-worker, netobs-executor, "
        "netobs-mcp) with a SCRAM-SHA-512 credential and the ACLs it needs, and writes into the data directory "
        "what the stages then each mount their own part of: kafka-credentials/<principal> (a password, created "
        "when missing), keys/<purpose>.key and command.key (0600).",
    )
    status = sub.add_parser(
        "status",
        help="what runs, rates, lag, disk use, retention and the last errors, in one screen",
        description="Read the running node's metrics endpoint (twice, for rates; the token is NETOBS_MCP_TOKEN or "
        "the one in the data directory) and the data directory. Exit 0 when the node runs, 3 when it does not "
        "(disk, retention and last errors are still shown), 1 when its metrics are refused.",
    )
    status.add_argument("--interval", type=float, default=2.0, help="seconds between the two reads (default 2)")
    patterns = sub.add_parser(
        "patterns",
        help="mine log templates from a file offline (same miner as the worker)",
        description="Read a log file (raw syslog lines or plain text, '-' for stdin), write one CSV row per "
        "line (line,template_id,template) and a summary of templates with counts.",
    )
    patterns.add_argument("file", help="log file, or - for standard input")
    patterns.add_argument("-o", "--output", default="-", help="CSV output (default stdout)")
    patterns.add_argument(
        "--summary", default="-", help="summary output (default stderr when CSV goes to stdout, else stdout)"
    )
    patterns.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the netobs command."""
    args = _parser().parse_args(argv)
    environ = dict(os.environ)
    if args.data_dir:
        environ["NETOBS_DATA_DIR"] = args.data_dir
    if args.log_level:
        environ["NETOBS_LOG_LEVEL"] = args.log_level
    try:
        config = config_mod.load(args.config, environ)
    except ConfigError as exc:
        print(f"netobs: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        return _check_config(config, args.command)
    logs.setup(config.log_level, args.command)
    if config.kafka.bootstrap:
        _probe_broker(config.kafka)
    configure_engine(config.clickhouse)
    if args.command != "patterns":  # the one command that never touches the data directory
        data_dir.prepare(config.data_dir)
    if args.command in SERVICES:
        logs.keep_errors(config.data_dir, "node" if args.command == "run" else args.command)
    try:
        return COMMANDS[args.command](config, args)
    except StoreHeld as exc:
        print(f"netobs {args.command}: {exc}", file=sys.stderr)
        return 1


def _probe_broker(kafka: KafkaConfig) -> None:
    """The broker log gate asks the broker itself, as this process's principal, whether it is back."""
    try:
        access = kafka_client.access(kafka)
    except ConfigError:  # the command says so when it connects
        return
    logs.probe_broker(functools.partial(kafka_client.answers, access, logs.PROBE_SECONDS))


def _run(config: config_mod.Config, _: argparse.Namespace) -> int:
    from netobs import node

    status = asyncio.run(node.run(config))
    # Everything that writes has stopped; a read query still running in the store's threads would hold the
    # interpreter's exit until ClickHouse's own timeout ends it, so it is abandoned (it only reads).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _ingest(config: config_mod.Config, _: argparse.Namespace) -> int:
    from common.metrics import Source
    from ingest.counters import Counters
    from ingest.metrics import syslog_families
    from ingest.syslog.service import serve
    from netobs import metrics_endpoint

    if not config.kafka.bootstrap:
        print("netobs ingest: set NETOBS_KAFKA to the broker's bootstrap servers", file=sys.stderr)
        return 2
    s = config.syslog
    on = (("udp", s.udp_port), ("tcp", s.tcp_port), ("tls", s.tls_port and s.tls_cert), ("relp", s.relp_port))
    enabled = [t for t, port in on if port]
    counters = Counters()
    registry = metrics_endpoint.registry()
    registry.register(Source(lambda: syslog_families(counters, enabled)))
    kafka = kafka_client.access(config.kafka)
    with metrics_endpoint.serving(config, registry, "ingest"):
        signals.run_until_signalled(
            lambda stop: serve(
                config.syslog,
                kafka,
                config.kafka.partitions,
                stop,
                counters=counters,
                ledger_path=config.data_dir / "state" / "ingest-syslog.json",
                spool_dir=config.data_dir / "spool" / "syslog",
                shed_on_signals=True,
            )
        )
    return 0


def _credentials(config: config_mod.Config) -> dict[str, Any]:
    from common.snmp import credentials as snmp_credentials

    path = config.snmp.credentials_file
    return snmp_credentials.load(path) if path else {}


def _serve_edge(
    config: config_mod.Config, name: str, serve: Callable[..., Awaitable[None]], families: Callable[[], list[Any]]
) -> int:
    """Run serve(credentials, stop) for an edge service (traps, poller, executor) until SIGINT/SIGTERM, serving
    the metric families families() returns."""
    from common.metrics import Source
    from netobs import metrics_endpoint

    if not config.kafka.bootstrap:
        print(f"netobs {name}: set NETOBS_KAFKA to the broker's bootstrap servers", file=sys.stderr)
        return 2
    try:
        credentials = _credentials(config)
    except ConfigError as exc:
        print(f"netobs {name}: {exc}", file=sys.stderr)
        return 2

    registry = metrics_endpoint.registry()
    registry.register(Source(families))
    with metrics_endpoint.serving(config, registry, name):
        signals.run_until_signalled(lambda stop: serve(credentials, stop))
    return 0


def _traps(config: config_mod.Config, _: argparse.Namespace) -> int:
    from ingest.metrics import trap_families
    from ingest.traps.service import TrapCounters, serve

    k = config.kafka
    counters = TrapCounters()
    kafka = kafka_client.access(k)
    return _serve_edge(
        config,
        "traps",
        lambda creds, stop: serve(
            config.snmp,
            creds,
            kafka,
            k.partitions,
            stop,
            counters=counters,
            spool_dir=config.data_dir / "spool" / "traps",
        ),
        lambda: trap_families(counters),
    )


def _poller(config: config_mod.Config, _: argparse.Namespace) -> int:
    from ingest.metrics import poller_families
    from ingest.pollers.counters import PollerCounters
    from ingest.pollers.service import serve

    k = config.kafka
    counters = PollerCounters()
    kafka = kafka_client.access(k)
    key = config.signing_key("inventory")
    return _serve_edge(
        config,
        "poller",
        lambda creds, stop: serve(
            config.poller, creds, kafka, k.partitions, stop, counters=counters, inventory_key=key
        ),
        lambda: poller_families(counters),
    )


def _executor(config: config_mod.Config, _: argparse.Namespace) -> int:
    from common.sealing import load_or_create_key
    from executor.metrics import executor_families
    from executor.service import Executor, Keys, serve

    k = config.kafka
    running: list[Executor] = []
    keys = Keys(
        command=load_or_create_key(config.command_key_path),
        commands=config.signing_key("commands"),
        steps=config.signing_key("steps"),
        inventory=config.signing_key("inventory"),
    )
    return _serve_edge(
        config,
        "executor",
        lambda creds, stop: serve(
            config.actions,
            creds,
            kafka_client.access(k),
            stop,
            keys=keys,
            partitions=k.partitions,
            replication_factor=k.replication_factor,
            on_start=running.append,
        ),
        lambda: [f for executor in running for f in executor_families(executor)],
    )


def _audit(config: config_mod.Config, _: argparse.Namespace) -> int:
    from executor.command_audit_verify import run

    try:
        steps_key, mcp_key = config.signing_key("steps", create=False), config.signing_key("mcp_audit", create=False)
    except (OSError, ValueError) as exc:
        print(f"netobs audit verify: {exc}", file=sys.stderr)
        return 2
    return run(config.clickhouse_dsn, config.clickhouse.database, sys.stdout, steps_key, mcp_key)


def _inventory(config: config_mod.Config, args: argparse.Namespace) -> int:
    from executor.inventory_seed import seed

    path = args.file or config.inventory.seed_file
    if not path:
        print("netobs inventory seed: give a file or set NETOBS_INVENTORY_SEED_FILE", file=sys.stderr)
        return 2
    from netobs import broker, broker_auth

    if config.kafka.bootstrap:
        kafka = kafka_client.access(config.kafka)
    else:
        # A running single node on this data directory: publish as its executor, with that principal's password.
        port = config.kafka.embedded_port
        owned = (broker_auth.credentials_dir(config.data_dir) / broker_auth.principal("executor")).is_file()
        if not (owned and broker.listening(port)):
            print(
                f"netobs inventory seed: no node of {config.data_dir} runs here (127.0.0.1:{port}): start it, "
                "or set NETOBS_KAFKA and NETOBS_KAFKA_SASL_* for a cluster",
                file=sys.stderr,
            )
            return 2
        kafka = broker_auth.stage_access(config.data_dir, f"127.0.0.1:{port}", "executor")
    try:
        events = asyncio.run(seed(kafka, path, config.signing_key("inventory")))
    except ConfigError as exc:
        print(f"netobs inventory seed: {exc}", file=sys.stderr)
        return 2
    for event in events:
        print(f"{event.op} {event.kind} {event.id}")
    print(f"{len(events)} inventory event(s) published", file=sys.stderr)
    return 0


def _replay(config: config_mod.Config, _: argparse.Namespace) -> int:
    from netobs import broker, broker_auth, children
    from processors.replay import ReplayRefused, replay

    proc = None
    try:
        if config.kafka.bootstrap:
            kafka = kafka_client.access(config.kafka)
        else:
            if broker.listening(config.kafka.embedded_port):
                raise ReplayRefused(f"something listens on 127.0.0.1:{config.kafka.embedded_port}: stop the node first")
            groups = (config.worker.group_id, config.actions.group_id)
            embedded = broker.start(
                config.kafka, config.data_dir, log=lambda m: print(m, file=sys.stderr), groups=groups
            )
            proc = embedded.proc
            kafka = broker_auth.stage_access(config.data_dir, embedded.bootstrap, "worker")
        done = replay(kafka, config.worker.group_id, config.clickhouse_dsn, config.clickhouse.database)
    except (ReplayRefused, broker.BrokerError) as exc:
        print(f"netobs replay: {exc}", file=sys.stderr)
        return 1
    finally:
        if proc is not None:
            children.stop(proc, timeout=30.0)
    print(f"emptied {', '.join(done.tables)}; the next worker start rebuilds them from the topics", file=sys.stderr)
    return 0


def _worker(config: config_mod.Config, _: argparse.Namespace) -> int:
    from common.kafka_admin import ensure_topics
    from netobs import metrics_endpoint, node
    from netobs.worker_thread import WorkerThread
    from processors.app import make_app

    if not config.kafka.bootstrap:
        print("netobs worker: set NETOBS_KAFKA to the broker's bootstrap servers", file=sys.stderr)
        return 2
    k = config.kafka
    kafka = kafka_client.access(k)
    asyncio.run(ensure_topics(kafka, k.partitions, k.replication_factor))
    node.migrate(config)
    worker = WorkerThread(
        make_app(
            kafka,
            k.partitions,
            config.worker,
            config.clickhouse_dsn,
            config.clickhouse.database,
            keys=node.worker_keys(config),
            data_dir=str(config.data_dir),
        )
    )

    async def main(stopped: asyncio.Event) -> None:
        worker.start()
        while not stopped.is_set() and (worker.is_alive() or not worker.started.is_set()):
            await asyncio.sleep(0.5)
        await asyncio.to_thread(worker.stop)

    registry = metrics_endpoint.registry()
    registry.register(metrics_endpoint.worker_source(worker.worker))
    with metrics_endpoint.serving(config, registry, "worker"):
        signals.run_until_signalled(main)
    return 1 if worker.error else 0


def _mcp(config: config_mod.Config, args: argparse.Namespace) -> int:
    from netobs import mcp_service
    from query_mcp import endpoint, service, stdio
    from query_mcp.auth.credentials import load_or_create_token

    m = config.mcp
    if args.stdio:
        try:
            store = mcp_service.open_store(config)
        except Exception as exc:
            if not config.clickhouse_dsn.startswith("chdb://"):
                log.error("cannot reach ClickHouse at %s: %s", config.clickhouse_dsn, exc)
                return 1
            running = endpoint.read(config.data_dir)
            url, token = running or (f"http://{m.bind}:{m.port}/mcp", load_or_create_token(m.token, config.data_dir))
            log.info("embedded ClickHouse is held by a running node (%s); relaying to %s", exc.__class__.__name__, url)
            return stdio.relay(url, token, sys.stdin.buffer, sys.stdout.buffer)
        asyncio.run(mcp_service.serve_mcp_stdio(config, store))
        return 0
    if m.transport == "off":
        print("netobs mcp: NETOBS_MCP_TRANSPORT is off", file=sys.stderr)
        return 2
    load_or_create_token(m.token, config.data_dir)
    store = mcp_service.open_store(config)
    token_note = "" if m.token else f"; admin token in {config.data_dir / 'mcp_token'}"
    print(f"MCP on {service.resource_url(m)}{token_note}", file=sys.stderr)
    kafka = kafka_client.access(config.kafka) if config.kafka.bootstrap else None
    signals.run_until_signalled(lambda stop: mcp_service.serve_mcp_and_clickhouse_http(config, store, kafka, stop))
    return 0


def _token(config: config_mod.Config, args: argparse.Namespace) -> int:
    import datetime as dt

    from query_mcp.auth import tokens
    from query_mcp.auth.credentials import tokens_path

    path = tokens_path(config.mcp, config.data_dir)
    try:
        if args.token_command == "add":
            expires = None
            if args.expires_days:
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.expires_days)
            secret = tokens.add(path, args.name, frozenset(args.scope), expires)
            print(secret)
            print(
                f"token {args.name!r} ({' '.join(sorted(args.scope))}) added to {path}; it is not shown again",
                file=sys.stderr,
            )
        elif args.token_command == "list":
            for t in tokens.load(path):
                until = t.expires.isoformat() if t.expires else "no expiry"
                print(f"{t.name}\t{' '.join(sorted(t.scopes))}\t{until}")
        elif not tokens.revoke(path, args.name):
            print(f"netobs token: no token named {args.name!r} in {path}", file=sys.stderr)
            return 1
    except ConfigError as exc:
        print(f"netobs token: {exc}", file=sys.stderr)
        return 2
    return 0


def _migrate(config: config_mod.Config, _: argparse.Namespace) -> int:
    from netobs import node

    applied = node.migrate(config)
    print(f"applied: {', '.join(applied)}" if applied else "schema up to date")
    return 0


def _patterns(_: config_mod.Config, args: argparse.Namespace) -> int:
    from processors.syslog import patterns_file

    with contextlib.ExitStack() as files:
        out = sys.stdout if args.output == "-" else files.enter_context(Path(args.output).open("w", newline=""))
        if args.summary == "-":
            summary = sys.stderr if args.output == "-" else sys.stdout
        else:
            summary = files.enter_context(Path(args.summary).open("w"))
        return patterns_file.run(args.file, out, summary, progress=not args.no_progress)


BROKER_STAGES = ("ingest", "worker", "traps", "poller", "executor", "setup", "replay")
"""Commands that need NETOBS_KAFKA (a single node's `run` starts its own broker)."""


def _check_config(config: config_mod.Config, command: str) -> int:
    """--check-config: what `netobs COMMAND` would start with, without starting it (the configuration itself was
    validated by loading it); secrets are never printed, only where they are read from."""
    k = config.kafka
    if command in BROKER_STAGES and not k.bootstrap:
        print(f"netobs {command}: configuration error: NETOBS_KAFKA is required for {command}", file=sys.stderr)
        return 2
    lines = [
        f"netobs {command}: configuration ok",
        f"  data directory  {config.data_dir}",
        f"  broker          {k.bootstrap or 'embedded'}"
        + (
            f" as {k.sasl_username} ({k.sasl_mechanism}, password in {k.sasl_password_file})"
            if k.sasl_mechanism
            else ""
        ),
        f"  ClickHouse      {_without_password(config.clickhouse_dsn)} database {config.clickhouse.database}",
    ]
    if command in ("run", "ingest"):
        s = config.syslog
        lines.append(
            f"  syslog          {s.bind} udp {s.udp_port} tcp {s.tcp_port} tls {s.tls_port} relp {s.relp_port}"
        )
    if command in ("run", "mcp"):
        m = config.mcp
        lines.append(f"  MCP             {m.transport} on {m.bind}:{m.port}{' (TLS)' if m.tls_cert else ''}")
    print("\n".join(lines))
    return 0


def _without_password(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return dsn


def _setup(config: config_mod.Config, _: argparse.Namespace) -> int:
    from common.kafka_admin import ensure_topics
    from common.sealing import load_or_create_key
    from netobs import broker_auth

    k = config.kafka
    if not k.bootstrap:
        print("netobs setup: set NETOBS_KAFKA (and NETOBS_KAFKA_SASL_* as the super user)", file=sys.stderr)
        return 2
    admin = kafka_client.access(k)

    async def apply() -> None:
        await ensure_topics(admin, k.partitions, k.replication_factor)
        await broker_auth.apply(admin, config.data_dir, config.worker.group_id, config.actions.group_id)

    asyncio.run(apply())
    for purpose in ("commands", "steps", "inventory", "mcp_audit"):
        config.signing_key(purpose)
    load_or_create_key(config.command_key_path)
    names = ", ".join(broker_auth.principal(s) for s in broker_auth.STAGES)
    print(
        f"topics, principals ({names}) and their ACLs set on {k.bootstrap}; credentials and keys in {config.data_dir}"
    )
    return 0


def _status(config: config_mod.Config, args: argparse.Namespace) -> int:
    from netobs import status

    return status.run(config, sys.stdout, max(0.1, args.interval))


SERVICES = ("run", "ingest", "worker", "traps", "poller", "executor", "mcp")
"""Commands that run until stopped: they keep their warnings and errors in the data directory."""

COMMANDS = {
    "run": _run,
    "ingest": _ingest,
    "worker": _worker,
    "traps": _traps,
    "poller": _poller,
    "executor": _executor,
    "audit": _audit,
    "inventory": _inventory,
    "replay": _replay,
    "mcp": _mcp,
    "token": _token,
    "migrate": _migrate,
    "setup": _setup,
    "patterns": _patterns,
    "status": _status,
}
