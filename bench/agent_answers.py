"""Can an agent answer log questions cheaply? A scripted agent with read:logs only, against a generated corpus
with injected incidents, with the tools of this tree (after) and of the main branch (before), side by side.

The corpus: --lines syslog lines (default one million) over the 7 days before now from 300 hosts, the bodies
of bench/corpus.py's 86 templates, plus injected incidents whose truth the agent is checked against:
- a new pattern: "BGP neighbor ... Down - hold timer expired" from three core routers, only in the last hour;
- a spike: a DHCP request pattern steady all week, forty times its rate in the last hour;
- an error burst on two hosts (edge-017, edge-042): Cisco CPUHOG errors in the last hour. The same pattern
  appeared early in the week with one process name, then with others, so Drain generalised its template and
  the older lines carry an earlier template id.
The lines go through the worker's own code, processors.syslog.projector.SyslogProjector (parse, mine, the
row builder, pattern changes, columnar insert) into embedded ClickHouse (chdb), as Kafka records but
without a broker: the rows are what the real worker path stores, faster to make.

The agent talks to build_server() through the mcp SDK's in-memory client, behind the real guard as a
principal holding read:logs only (so results are capped at mcp.max_result_bytes as served). Per question:
calls, characters returned (the text the agent reads) and whether its answer matches the injected truth.
"before" runs the same questions with the tools of `git archive main` in a separate process, as an agent
must answer them today (no counts, no spikes, no new patterns, no template filter).

    python bench/agent_answers.py [--lines 1000000] [--seed 7] [--ref main]

Last line: {"questions": [{"question", "calls", "chars", "right"}, ...], "all_right", "max_calls",
"max_chars", "before": {...the same for main...}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DB = "netobs"
HOSTS = [f"{kind}-{i:03d}" for kind in ("edge", "core", "acc") for i in range(100)]
BURST_HOSTS = ("edge-017", "edge-042")
NEW_HOSTS = ("core-007", "core-011", "core-023")
CHANGED_HOST = "edge-017"
BURST_PER_HOST = 350
NEW_LINES = 45
SPIKE_LINES = 600
QUESTIONS = (
    "which hosts send the most errors",
    "is anything spiking",
    "which patterns are new",
    "show me the lines behind the top error pattern",
    f"what changed on host {CHANGED_HOST} since yesterday",
)
ERRORS = "^(high|low)$"


# ---- the corpus -------------------------------------------------------------------------------------------


def _cpuhog(rng: random.Random, process: str) -> tuple[int, str]:
    ms = rng.randint(2000, 9000)
    return (
        3,
        f"SYS %SYS-3-CPUHOG: Task ran for {ms} msec ({rng.randint(1, 40)}/{rng.randint(1, 9)}), process = {process}",
    )


def _lines(n: int, seed: int, now_ns: int) -> tuple[list[tuple[int, str, int, str]], dict[str, Any]]:
    """(time ns, host, severity, body) for every line, oldest first, and the truth of the incidents."""
    sys.path.insert(0, str(BENCH))
    import corpus  # bench/corpus.py

    rng = random.Random(seed)
    week = 7 * 86400 * 10**9
    hour = 3600 * 10**9
    minute = 60 * 10**9
    bodies, kinds = corpus.generate(n, seed)
    severity = {k: (3 if k % 17 == 0 else 4 if k % 7 == 0 else 6) for k in set(kinds)}
    # background: all week, ending 5 minutes ago
    span = week - 5 * minute
    out = [
        (now_ns - week + rng.randrange(span), rng.choice(HOSTS), severity[k], body)
        for body, k in zip(bodies, kinds, strict=True)
    ]
    # the CPUHOG pattern early in the week: first with one process name, then others (Drain generalises)
    for i in range(120):
        process = "IP Input" if i < 60 else rng.choice(["BGP Router", "OSPF Hello", "ARP Input"])
        at = now_ns - week + (i + 1) * (3 * 86400 * 10**9 // 130)
        out.append((at, rng.choice(HOSTS), *_cpuhog(rng, process)))
    # the DHCP pattern: steady all week (one line every ten minutes), then SPIKE_LINES in the last hour
    dhcp = "dhcrelay DHCPREQUEST relayed for 10.{}.{}.{} from {} via vlan{}"

    def dhcp_body() -> str:
        mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
        return dhcp.format(rng.randrange(256), rng.randrange(256), rng.randrange(256), mac, rng.randrange(10, 99))

    for at in range(now_ns - week, now_ns - 5 * minute, 10 * minute):
        out.append((at, rng.choice(HOSTS), 6, dhcp_body()))
    for _ in range(SPIKE_LINES):
        out.append((now_ns - 50 * minute + rng.randrange(40 * minute), rng.choice(HOSTS), 6, dhcp_body()))
    # the error burst on two hosts, in the last hour
    for host in BURST_HOSTS:
        for _ in range(BURST_PER_HOST):
            process = rng.choice(["IP Input", "BGP Router", "Exec Shell"])
            out.append((now_ns - 50 * minute + rng.randrange(40 * minute), host, *_cpuhog(rng, process)))
    # the new pattern, never seen before the last hour
    for i in range(NEW_LINES):
        ip = f"192.0.2.{rng.randrange(1, 255)}"
        body = f"bgpd BGP neighbor {ip} vrf CUST-{rng.randrange(1, 50)} Down - hold timer expired"
        out.append((now_ns - 40 * minute + i * (30 * minute // NEW_LINES), NEW_HOSTS[i % 3], 3, body))
    out.sort()
    assert all(at < now_ns - hour // 12 for at, *_ in out)
    truth = {
        "error_hosts": sorted(BURST_HOSTS),
        "spiking": ["CPUHOG", "DHCPREQUEST", "hold timer expired"],
        "new": ["hold timer expired"],
        "top_error": "CPUHOG",
        "top_error_lines": BURST_PER_HOST * len(BURST_HOSTS),
        "changed": "CPUHOG",
        "now": now_ns // 10**9,
    }
    return out, truth


def build(directory: Path, lines: int, seed: int) -> None:
    """The corpus through the worker's projector into chdb at directory; truth.json beside it."""
    import clickhouse_connect

    from common import migrations
    from processors.syslog.projector import SyslogProjector
    from schemas import raw_syslog

    started = time.monotonic()
    now_ns = time.time_ns()
    made, truth = _lines(lines, seed, now_ns)
    client = clickhouse_connect.get_client(dsn=f"chdb://{directory / 'clickhouse'}")
    migrations.apply(client, DB, 30)
    projector = SyslogProjector(client, DB, "netobs.syslog.raw", snapshot_seconds=3600)
    batch, offset = 2000, 0
    for i in range(0, len(made), batch * 4):
        records = []
        for j in range(i, min(i + batch * 4, len(made)), batch):
            chunk = made[j : j + batch]
            lines_ = [
                f"<{8 + sev}>{time.strftime('%b %d %H:%M:%S', time.gmtime(at // 10**9))} {host} {body}".encode()
                for at, host, sev, body in chunk
            ]
            value = raw_syslog.encode(
                raw_syslog.RawBatch(
                    1, "udp", [at for at, *_ in chunk], ["192.0.2.1"] * len(chunk), lines_, [0] * len(chunk)
                )
            )
            records.append((offset % 4, offset, chunk[-1][0], value))
            offset += 1
        projector.process(records)
    stored = client.query(f"SELECT count() FROM {DB}.syslog").result_rows[0][0]
    truth |= {"lines": int(stored), "build_seconds": round(time.monotonic() - started, 1)}
    (directory / "truth.json").write_text(json.dumps(truth))


# ---- the agent --------------------------------------------------------------------------------------------


class Agent:
    """Calls tools through the mcp SDK client, counting calls and characters returned."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0
        self.chars = 0

    async def __call__(self, tool: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        text = "".join(getattr(c, "text", "") for c in result.content)
        self.calls += 1
        self.chars += len(text)
        if result.is_error:
            raise RuntimeError(f"{tool}: {text[:300]}")
        return json.loads(text)


def _at(truth: dict[str, Any], seconds_before: int) -> str:
    """An absolute UTC time seconds_before the corpus's end: the questions are about the corpus's last hour or
    day, however long the corpus took to store."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(truth["now"] - seconds_before))


async def after(ask: Agent, q: int, truth: dict[str, Any]) -> bool:
    """This tree's tools."""
    hour = {"start_time": _at(truth, 3600), "end_time": _at(truth, 0)}
    if q == 0:
        top = await ask("count_syslog", by="host", level_filter=ERRORS, top_n=3, **hour)
        return sorted(i["Key"] for i in top["items"][:2]) == truth["error_hosts"]
    if q == 1:
        spikes = await ask("find_syslog_spikes", by="pattern", top_n=3, **hour)
        return _names(spikes["items"], "Pattern") == truth["spiking"]
    if q == 2:
        new = await ask("find_new_syslog_patterns", top_n=5, **hour)
        return _names(new["items"], "Pattern") == truth["new"]
    if q == 3:
        summary = await ask("get_syslog_summary", level_filter=ERRORS, top_n=1, **hour)
        top = summary["items"][0]
        lines = await ask(
            "search_syslog", template_id=top["TemplateID"], limit=5, fields=["Time", "Host", "Message"], **hour
        )
        return (
            truth["top_error"] in top["Pattern"]
            and lines["total"] == top["Count"] == truth["top_error_lines"]
            and all(truth["top_error"] in i["Message"] for i in lines["items"])
        )
    changes = await ask(
        "find_syslog_spikes",
        by="pattern",
        host_filter=f"^{CHANGED_HOST}$",
        start_time=_at(truth, 86400),
        end_time=_at(truth, 0),
        direction="both",
        top_n=3,
    )
    return truth["changed"] in changes["items"][0]["Pattern"]


async def before(ask: Agent, q: int, truth: dict[str, Any]) -> bool:
    """The tools of main: no counts, spikes or new patterns; lines and per-pattern summaries only, so changes are
    two summaries compared by hand (scored as find_syslog_spikes does)."""
    hour = {"start_time": _at(truth, 3600), "end_time": _at(truth, 0)}
    if q == 0:
        lines = await ask("search_syslog", level_filter=ERRORS, limit=10000, **hour)
        top = Counter(i["Host"] for i in lines["items"]).most_common(2)
        return sorted(host for host, _ in top) == truth["error_hosts"]
    if q in (1, 4):
        host = f"^{CHANGED_HOST}$" if q == 4 else ""
        length = 86400 if q == 4 else 3600
        days = 7 if q == 4 else 1
        now = await ask(
            "get_syslog_summary", host_filter=host, start_time=_at(truth, length), end_time=_at(truth, 0), top_n=500
        )
        base = await ask(
            "get_syslog_summary",
            host_filter=host,
            start_time=_at(truth, length + days * 86400),
            end_time=_at(truth, length),
            top_n=500,
        )
        scale = length / (days * 86400)
        was = {p["TemplateID"]: p["Count"] * scale for p in base["items"]}
        scored = sorted(
            now["items"],
            key=lambda p: -abs(p["Count"] - was.get(p["TemplateID"], 0)) / (was.get(p["TemplateID"], 0) + 1) ** 0.5,
        )
        if q == 4:
            return truth["changed"] in scored[0]["Pattern"]
        return _names(scored[:3], "Pattern") == truth["spiking"]
    if q == 2:
        now = await ask("get_syslog_summary", top_n=500, **hour)
        base = await ask("get_syslog_summary", start_time=_at(truth, 8 * 86400), end_time=_at(truth, 3600), top_n=500)
        seen = {p["TemplateID"] for p in base["items"]}
        return _names([p for p in now["items"] if p["TemplateID"] not in seen], "Pattern") == truth["new"]
    summary = await ask("get_syslog_summary", level_filter=ERRORS, top_n=5, **hour)
    top = summary["items"][0]
    words = [w for w in top["Pattern"].split()[1:] if "<" not in w]
    regex = ".*".join(re.escape(w) for w in words)
    lines = await ask("search_syslog", message_filter=regex, limit=10000, **hour)
    return (
        truth["top_error"] in top["Pattern"]
        and len(lines["items"]) == top["Count"] == truth["top_error_lines"]
        and all(truth["top_error"] in i["Message"] for i in lines["items"])
    )


def _names(items: list[dict[str, Any]], field: str) -> list[str]:
    """Which injected incidents the items name (sorted); anything else as itself, so extras make it wrong."""
    marks = ("CPUHOG", "DHCPREQUEST", "hold timer expired")
    return sorted(next((m for m in marks if m in i[field]), i[field]) for i in items)


def run_agent(directory: Path, api: str) -> None:
    """Answer every question with one API's tools; prints the per-question figures as JSON."""
    from mcp import Client

    from common.config import McpConfig
    from query_mcp.metrics import Metrics
    from query_mcp.service import build_server, guard_for
    from query_mcp.store import Store

    truth = json.loads((directory / "truth.json").read_text())
    store = Store(f"chdb://{directory / 'clickhouse'}", DB, 120, size=2)
    mcp = McpConfig(stdio_scopes=("read:logs",))
    server = build_server(store, guard_for(mcp, None, Metrics(), stdio=True))
    answer = after if api == "after" else before

    async def go() -> list[dict[str, Any]]:
        out = []
        async with Client(server) as client:
            listed = await client.list_tools()
            assert {t.name for t in listed.tools} >= {"search_syslog"}, "read:logs tools only"
            for q, question in enumerate(QUESTIONS):
                ask = Agent(client)
                try:
                    right = await answer(ask, q, truth)
                except Exception as exc:  # a failed answer is a wrong answer; say why
                    print(f"{api}: {question}: {exc}", file=sys.stderr)
                    right = False
                out.append({"question": question, "calls": ask.calls, "chars": ask.chars, "right": bool(right)})
        return out

    print(json.dumps(asyncio.run(go())))


# ---- the comparison -------------------------------------------------------------------------------------


def _child(args: list[str], pythonpath: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:1])} failed:\n{done.stderr[-3000:]}")
    sys.stderr.write(done.stderr)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "questions": rows,
        "all_right": all(r["right"] for r in rows),
        "max_calls": max(r["calls"] for r in rows),
        "max_chars": max(r["chars"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="compare", choices=["compare", "build", "agent"])
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--api", choices=["after", "before"], default="after")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ref", default="main", help="git ref of the 'before' tools")
    args = parser.parse_args()
    if args.mode == "build":
        build(args.dir, args.lines, args.seed)
        return
    if args.mode == "agent":
        run_agent(args.dir, args.api)
        return
    with tempfile.TemporaryDirectory(prefix="agent-answers-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        (work / "main").mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(work / "main")], input=archive.stdout, check=True)
        _child(["build", "--dir", str(work / "data"), "--lines", str(args.lines), "--seed", str(args.seed)], ROOT)
        truth = json.loads((work / "data" / "truth.json").read_text())
        print(f"corpus: {truth['lines']} lines stored through the worker's projector in {truth['build_seconds']} s")
        now = json.loads(_child(["agent", "--dir", str(work / "data"), "--api", "after"], ROOT))
        then = json.loads(_child(["agent", "--dir", str(work / "data"), "--api", "before"], work / "main"))
    head = f"{'before calls':>12} {'chars':>9} {'right':>6} | {'after calls':>11} {'chars':>7} {'right':>6}"
    print(f"{'question':<48} {head}")
    for b, a in zip(then, now, strict=True):
        print(
            f"{a['question']:<48} {b['calls']:>12} {b['chars']:>9} {b['right']!s:>6} | "
            f"{a['calls']:>11} {a['chars']:>7} {a['right']!s:>6}"
        )
    result = _summary(now)
    baseline = _summary(then)
    print(
        f"max chars per answer: {baseline['max_chars']} -> {result['max_chars']} "
        f"({baseline['max_chars'] / max(result['max_chars'], 1):.0f}x fewer); right: "
        f"{sum(r['right'] for r in then)}/5 -> {sum(r['right'] for r in now)}/5"
    )
    print(json.dumps(result | {"before": baseline}))


if __name__ == "__main__":
    main()
