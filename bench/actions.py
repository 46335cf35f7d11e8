"""Actions: what an snmpset costs through the audited command path, beside the same set done without it.

  audited  the MCP tool snmpset (sysContact.0 of a seeded node, its own v2c read-write credential) called with
           the mcp SDK client over Streamable HTTP (one session, admin token) on a `netobs run` node: gate and
           guard, a command published to netobs.commands, the executor's policy, its steps requested,
           executing and executed each acknowledged by the broker on netobs.command.results, the set with
           pysnmp, and the MCP service waiting for the executed step
  direct   executor.snmp.snmp_set in this process with the timing the executor uses (one request,
           no retry, an SnmpEngine per call): the network action alone, no MCP, no Kafka, no audit
  cli      net-snmp's snmpset, one process per call (numeric OID: Debian's net-snmp loads no MIBs), which is
           what an operator's script costs

Everything runs on 127.0.0.1 and is started here: a real snmpd (tests/snmpd.py) and `netobs run` (embedded
broker, its own data directory in a scratch directory, free ports; poller, traps and syslog receivers off;
no per-actor rate limit; the MCP rate limits raised so they do not throttle the calls). Each round runs the
three one call after another, --calls calls each, in a rotating order; then --concurrency clients (sessions
or tasks) of audited and of direct share --concurrent-calls calls. Every call sets a value of its own and
checks the agent's answer; after each batch snmpget reads sysContact.0 back, and at the end command_audit
must hold an executed snmpset for every audited call, so no figure counts work that did not happen.

Reported: latency per call (median, p95, mean over all rounds; ratios of the medians, with the per-round
ratios), calls/s at the concurrency, and where the audited time goes by the steps' own times in
command_audit. Progress goes to stderr; a table and ratios, then one JSON object as the last line, to
stdout. The defaults take about 2.5 minutes on 2 cores.

    .venv/bin/python bench/actions.py [--calls 100] [--rounds 3] [--concurrency 8] [--concurrent-calls 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import TextContent

from common.config import ActionsConfig
from executor.snmp import snmp_set
from tests import brokers
from tests.snmpd import CREDENTIALS, Snmpd

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
NODE = "bench-agent"
CREDENTIAL = "v2c-rw"
TOKEN = "bench-actions-admin-0123456789"
SNMPSET = shutil.which("snmpset") or "/usr/bin/snmpset"
WARM_UP = 5
"""Calls of each kind before a round's measured ones (imports, connections, the executor's first fetch)."""
KINDS = ("audited", "direct", "cli")
SETTINGS = ActionsConfig()
ONCE_TIMEOUT = SETTINGS.snmp_timeout_s * (1 + SETTINGS.snmp_retries)
"""The executor sends a set once and waits the retries' time too (executor.actions.perform)."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the lab: snmpd and a `netobs run` node ----------------------------------------------------------


NODE_LOG = "netobs-run.log"


@dataclass
class Lab:
    url: str
    agent: Snmpd


def _node_env(data: Path, agent: Snmpd, mcp_port: int) -> dict[str, str]:
    c = CREDENTIALS[CREDENTIAL]
    credentials = data / "snmp_credentials.toml"
    credentials.write_text(f'[{CREDENTIAL}]\nmode = "{c.mode}"\ncommunity = {json.dumps(c.community)}\n')
    seed = data / "inventory.toml"
    seed.write_text(f'[[node]]\nname = "{NODE}"\nip = "127.0.0.1"\nsnmp_credential = "{CREDENTIAL}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_")}
    env.update(
        NETOBS_DATA_DIR=str(data),
        NETOBS_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        NETOBS_KAFKA_EMBEDDED_PORT=str(brokers.free_port()),
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_RELP_PORT="0",
        NETOBS_SNMP_TRAP_PORT="0",
        NETOBS_POLLER_ENABLED="false",
        NETOBS_SNMP_CREDENTIALS_FILE=str(credentials),
        NETOBS_INVENTORY_SEED_FILE=str(seed),
        NETOBS_MCP_PORT=str(mcp_port),
        NETOBS_MCP_TOKEN=TOKEN,
        NETOBS_MCP_RATE_PER_CLIENT="1000000",
        NETOBS_MCP_RATE_PER_TOOL="1000000",
        NETOBS_WORKER_BATCH_SECONDS="0.2",
        NETOBS_ACTIONS_SNMP_PORT=str(agent.port),
        NETOBS_ACTIONS_RATE_PER_ACTOR="0",
        NETOBS_ACTIONS_WAIT_SECONDS="30",
    )
    return env


@contextlib.contextmanager
def lab(work: Path) -> Iterator[Lab]:
    """snmpd, then `netobs run` (its log in work); yielded once the MCP port is open, both stopped at the end."""
    agent = Snmpd(work / "snmpd")
    agent.start()
    node = None
    try:
        data = work / "node"
        data.mkdir()
        port = brokers.free_port()
        node = brokers.spawn(
            [sys.executable, "-m", "netobs", "run"],
            work / NODE_LOG,
            cwd=common.REPO_ROOT,
            env=_node_env(data, agent, port),
        )
        common.wait_tcp_listening(port, node, timeout=120)
        yield Lab(url=f"http://127.0.0.1:{port}/mcp", agent=agent)
    finally:
        if node is not None:
            brokers.stop(node, timeout=30)
        agent.stop()


# --- the three ways to set a value -----------------------------------------------------------------


class Audited:
    """One mcp SDK client session to the node; set() calls the snmpset tool and checks the agent's answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack = contextlib.AsyncExitStack()
        self._client: Client | None = None

    async def __aenter__(self) -> Audited:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        transport = streamable_http_client(self.url, http_client=http)
        self._client = await self._stack.enter_async_context(Client(transport))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        """The tool's JSON answer (its text: run_select_query has no output schema); RuntimeError when the tool
        reports an error."""
        assert self._client is not None
        result = await self._client.call_tool(tool, args)
        content = result.content[0] if result.content else None
        text = content.text if isinstance(content, TextContent) else ""
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {text[:300]}")
        return json.loads(text)

    async def set(self, value: str) -> None:
        args = {"target": NODE, "mib_object_name": "sysContact.0", "type": "string", "value": value}
        answer = await self.call("snmpset", args)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not items or items[0].get("Value") != value:
            raise RuntimeError(f"audited snmpset answered {str(answer)[:300]} for {value!r}")


async def direct_set(port: int, value: str) -> None:
    rows = await snmp_set(
        "127.0.0.1", port, CREDENTIALS[CREDENTIAL], "sysContact.0", "string", value, timeout=ONCE_TIMEOUT, retries=0
    )
    if rows[0]["Value"] != value:
        raise RuntimeError(f"direct snmp_set answered {rows} for {value!r}")


async def cli_set(port: int, value: str) -> None:
    """One snmpset process; it blocks the loop on purpose (nothing else runs meanwhile, and an asyncio
    subprocess would add its own cost to the baseline)."""
    c = CREDENTIALS[CREDENTIAL]
    args = [SNMPSET, "-v", "2c", "-c", c.community, "-t", f"{ONCE_TIMEOUT:g}", "-r", "0", "-Oqv"]
    done = subprocess.run(
        [*args, f"127.0.0.1:{port}", SYS_CONTACT, "s", value], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0 or done.stdout.strip() != f'"{value}"':
        raise RuntimeError(f"snmpset exited {done.returncode}: {(done.stdout + done.stderr).strip()[:300]}")


async def until_ready(url: str, timeout: float = 120.0) -> float:
    """Retry an audited set until the executor has answered one (it starts after the MCP service)."""
    started = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - started < timeout:
        try:
            async with Audited(url) as audited:
                await audited.set(f"bench-ready-{uuid.uuid4().hex[:6]}")
            return time.monotonic() - started
        except Exception as exc:
            last = exc
            await asyncio.sleep(1.0)
    raise RuntimeError(f"no audited snmpset executed within {timeout:.0f} s: {last}")


# --- measuring -------------------------------------------------------------------------------------------


@dataclass
class Figures:
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    round_medians: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    rate: dict[str, list[float]] = field(default_factory=lambda: {"audited": [], "direct": []})
    audited_calls: int = 0


Setter = Callable[[str], Awaitable[None]]


async def setter(kind: str, lab: Lab, stack: contextlib.AsyncExitStack) -> Setter:
    """A way to set sysContact.0 (audited: a session of its own, closed with stack)."""
    if kind == "audited":
        return (await stack.enter_async_context(Audited(lab.url))).set
    return functools.partial(direct_set if kind == "direct" else cli_set, lab.agent.port)


async def sequential(kind: str, lab: Lab, calls: int, tag: str) -> tuple[list[float], str]:
    """calls sets one after another (after WARM_UP unmeasured ones); their latencies in ms, the last value."""
    async with contextlib.AsyncExitStack() as stack:
        one = await setter(kind, lab, stack)
        for i in range(WARM_UP):
            await one(f"{tag}-warm-{i}")
        latencies = []
        value = ""
        for i in range(calls):
            value = f"{tag}-{i}"
            started = time.perf_counter()
            await one(value)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies, value


async def concurrent(kind: str, lab: Lab, calls: int, workers: int, tag: str) -> tuple[float, set[str]]:
    """calls sets shared by workers clients (audited: a session each), after one unmeasured set each;
    calls/s and the values set."""
    values = [f"{tag}-{i}" for i in range(calls)]
    async with contextlib.AsyncExitStack() as stack:
        setters = [await setter(kind, lab, stack) for _ in range(workers)]
        await asyncio.gather(*(one(f"{tag}-warm-{i}") for i, one in enumerate(setters)))

        async def work(one: Setter, share: list[str]) -> None:
            for value in share:
                await one(value)

        started = time.perf_counter()
        await asyncio.gather(*(work(one, values[w::workers]) for w, one in enumerate(setters)))
        elapsed = time.perf_counter() - started
    return calls / elapsed, set(values)


def read_back(lab: Lab, expected: set[str], what: str) -> None:
    """snmpget of sysContact.0 must show a value this batch set (for a sequential batch: its last one)."""
    shown = lab.agent.get(SYS_CONTACT, credential=CREDENTIAL)
    if shown is None or shown.strip('"') not in expected:
        raise RuntimeError(f"{what}: snmpget reads sysContact.0 as {shown!r}, not a value the batch set")


async def run_rounds(args: argparse.Namespace, lab: Lab, run_id: str) -> Figures:
    figures = Figures()
    for r in range(args.rounds):
        order = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
        for kind in order:
            latencies, last = await sequential(kind, lab, args.calls, f"{run_id}-r{r}-{kind}")
            read_back(lab, {last}, f"round {r + 1} {kind}")
            figures.latency_ms[kind] += latencies
            figures.round_medians[kind].append(statistics.median(latencies))
            if kind == "audited":
                figures.audited_calls += args.calls + WARM_UP
            progress(
                f"round {r + 1} {kind:8} {args.calls} calls: median {statistics.median(latencies):.2f} ms, "
                f"p95 {common.percentile(latencies, 95):.2f} ms"
            )
        if args.concurrency > 1:
            for kind in ("audited", "direct")[:: 1 if r % 2 == 0 else -1]:
                tag = f"{run_id}-r{r}-{kind}-c"
                rate, values = await concurrent(kind, lab, args.concurrent_calls, args.concurrency, tag)
                read_back(lab, values, f"round {r + 1} {kind} x{args.concurrency}")
                figures.rate[kind].append(rate)
                if kind == "audited":
                    figures.audited_calls += args.concurrent_calls + args.concurrency
                progress(f"round {r + 1} {kind:8} x{args.concurrency}: {rate:.1f} calls/s")
    return figures


async def query(url: str, sql: str) -> list[list[Any]]:
    async with Audited(url) as audited:
        return (await audited.call("run_select_query", {"query": sql}))["rows"]


async def audit_figures(url: str, run_id: str, expected: int, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until command_audit holds an executed snmpset for every audited call (no more); then, for the measured
    sequential ones, where their time went by the steps' own times (the requested step carries the time the
    MCP service created the command)."""
    count_sql = "SELECT count() FROM netobs.command_audit WHERE tool = 'snmpset' AND step = 'executed'"
    deadline = time.monotonic() + timeout
    executed = 0
    while time.monotonic() < deadline:
        executed = int((await query(url, count_sql))[0][0])
        if executed >= expected:
            break
        await asyncio.sleep(0.5)
    if executed != expected:
        raise RuntimeError(f"command_audit holds {executed} executed snmpsets; {expected} audited calls were made")
    spans = (
        "SELECT count(), quantileExact(0.5)(total), quantileExact(0.95)(total), quantileExact(0.5)(queued),"
        " quantileExact(0.5)(action) FROM (SELECT"
        " toUnixTimestamp64Nano(minIf(time, step = 'requested')) AS t0,"
        " toUnixTimestamp64Nano(minIf(time, step = 'executing')) AS t1,"
        " toUnixTimestamp64Nano(minIf(time, step = 'executed')) AS t2,"
        " (t2 - t0) / 1e6 AS total, (t1 - t0) / 1e6 AS queued, (t2 - t1) / 1e6 AS action"
        " FROM netobs.command_audit WHERE tool = 'snmpset' GROUP BY command_id"
        " HAVING countIf(step = 'executed') = 1"
        f" AND match(anyIf(args, step = 'requested'), '{run_id}-r[0-9]+-audited-[0-9]+\"'))"
    )
    commands, total, total_p95, queued, action = (await query(url, spans))[0]
    return {
        "executed_snmpsets": executed,
        "sequential_commands": int(commands),
        "created_to_executed_ms_p50": round(float(total), 2),
        "created_to_executed_ms_p95": round(float(total_p95), 2),
        "created_to_executing_ms_p50": round(float(queued), 2),
        "executing_to_executed_ms_p50": round(float(action), 2),
    }


# --- report ------------------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def report(args: argparse.Namespace, figures: Figures, audit: dict[str, Any], ready_s: float, seconds: float) -> dict:
    """Print the table and ratios; the JSON result."""
    lat = {
        kind: {
            "median": round(statistics.median(v), 2),
            "p95": round(common.percentile(v, 95), 2),
            "mean": round(statistics.fmean(v), 2),
        }
        for kind, v in figures.latency_ms.items()
    }
    medians = figures.round_medians
    per_round = {
        name: [round(a / b, 2) for a, b in zip(medians["audited"], medians[base], strict=True)]
        for name, base in (("audited_to_direct", "direct"), ("audited_to_cli", "cli"))
    }
    rates = {kind: round(statistics.median(v), 1) for kind, v in figures.rate.items() if v}
    a2d = ratio(lat["audited"]["median"], lat["direct"]["median"])
    a2c = ratio(lat["audited"]["median"], lat["cli"]["median"])
    concurrent_ratio = ratio(rates["audited"], rates["direct"]) if rates else None
    outside = round(lat["audited"]["median"] - audit["created_to_executed_ms_p50"], 2)
    out = [
        "",
        f"snmpset sysContact.0: {args.rounds} rounds x {args.calls} sequential calls per path (ms per call)",
        f"  {'path':10} {'median':>8} {'p95':>8} {'mean':>8}",
        *(f"  {k:10} {lat[k]['median']:8.2f} {lat[k]['p95']:8.2f} {lat[k]['mean']:8.2f}" for k in KINDS),
        f"  audited / direct        {a2d}x  (per round {per_round['audited_to_direct']})",
        f"  audited / net-snmp CLI  {a2c}x  (per round {per_round['audited_to_cli']})",
    ]
    if rates:
        out.append(
            f"x{args.concurrency} clients, {args.concurrent_calls} calls: audited {rates['audited']} calls/s, "
            f"direct {rates['direct']} calls/s (audited / direct {concurrent_ratio}x; medians of rounds)"
        )
    out += [
        f"audited median by command_audit ({audit['sequential_commands']} sequential commands, p50 each):",
        f"  command created -> executing step   {audit['created_to_executing_ms_p50']:8.2f}  "
        "(publish, executor fetch, policy, requested acked)",
        f"  executing -> executed step          {audit['executing_to_executed_ms_p50']:8.2f}  "
        "(the set, in the executor)",
        f"  the rest of the call (difference)   {outside:8.2f}  "
        "(HTTP, gate and guard, executed acked, the MCP service's fetch of it)",
        f"command_audit holds {audit['executed_snmpsets']} executed snmpsets (every audited call, warm-ups included)",
    ]
    print("\n".join(out), flush=True)
    return {
        "benchmark": "actions",
        "params": {
            "calls": args.calls,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "concurrent_calls": args.concurrent_calls,
            "warm_up": WARM_UP,
            "snmp_timeout_s": ONCE_TIMEOUT,
            "broker": common.BROKER,
        },
        "latency_ms": lat,
        "ratio_audited_to_direct": a2d,
        "ratio_audited_to_cli": a2c,
        "round_ratios": per_round,
        "concurrent_calls_per_s": rates,
        "ratio_concurrent_audited_to_direct": concurrent_ratio,
        "audit": dict(audit, rest_of_call_ms=outside),
        "node_ready_s": round(ready_s, 1),
        "seconds": round(seconds, 1),
    }


async def measure(args: argparse.Namespace, lab: Lab) -> tuple[Figures, dict[str, Any], float]:
    ready = await until_ready(lab.url)
    progress(f"node ready: first audited snmpset executed {ready:.1f} s after the MCP port opened")
    run_id = uuid.uuid4().hex[:6]
    figures = await run_rounds(args, lab, run_id)
    audit = await audit_figures(lab.url, run_id, figures.audited_calls + 1)
    return figures, audit, ready


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of the node's log for a failure report, with the token and community cut out (the banner has one)."""
    if not path.exists():
        return "(no netobs run log)"
    text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    for secret in (TOKEN, CREDENTIALS[CREDENTIAL].community):
        text = text.replace(secret, "(secret)")
    return f"netobs run log (tail):\n{text}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100, help="sequential calls per path per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the order of the paths rotates")
    parser.add_argument("--concurrency", type=int, default=8, help="clients of the throughput step; 1 skips it")
    parser.add_argument("--concurrent-calls", type=int, default=64, help="calls the clients share, per path and round")
    args = parser.parse_args(argv)
    if min(args.calls, args.rounds, args.concurrency, args.concurrent_calls) < 1:
        parser.error("--calls, --rounds, --concurrency and --concurrent-calls are at least 1")
    common.exit_on_sigterm()
    common.quiet_logs()
    started = time.monotonic()
    work = common.scratch_dir("netobs-bench-actions-")
    try:
        with lab(work) as running:
            progress(f"snmpd on {running.agent.address}, netobs run serving MCP at {running.url}")
            figures, audit, ready = asyncio.run(measure(args, running))
    except KeyboardInterrupt:
        progress("interrupted: snmpd and netobs run stopped, scratch directory removed")
        return 130
    except Exception:
        progress(log_tail(work / NODE_LOG))
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = report(args, figures, audit, ready, time.monotonic() - started)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
