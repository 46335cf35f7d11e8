"""`netobs status`: what runs, rates, lag, disk use, retention and the last errors, in one screen.

It reads the node's metrics endpoint twice, an interval apart (rates are the difference), the data
directory (disk use, the error logs every service keeps there) and the configuration (retention). A node
that is down still gets its disk, retention and last errors, with the news that it is not running.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from prometheus_client.parser import text_string_to_metric_families

from netobs import logs
from netobs.config import Config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
NOT_RUNNING = 3
"""The exit status when the node is down (as `systemctl status` and LSB init scripts say it)."""
ERROR_LINES = 8


class Unreadable(Exception):
    """The endpoint answered but its metrics cannot be had (refused, not an exposition)."""


def parse(text: str) -> Samples:
    """Every sample of an exposition by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(url: str, token: str | None, timeout: float = 10.0) -> Samples | None:
    """The samples at url, or None when nothing listens there; Unreadable when it refuses or speaks nonsense."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise Unreadable(f"{url} answered {exc.code}: {exc.reason}") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise Unreadable(f"{url} is not a Prometheus exposition: {exc}") from exc


def by_label(samples: Samples, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    """Values of a sample name summed by the given label values (other labels summed over)."""
    out: dict[tuple[str, ...], float] = collections.defaultdict(float)
    for (sample, labels), v in samples.items():
        if sample == name:
            d = dict(labels)
            out[tuple(d.get(k, "") for k in keys)] += v
    return dict(out)


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(
        v
        for (sample, labels), v in samples.items()
        if sample == name and all(dict(labels).get(k) == want for k, want in match.items())
    )


@dataclasses.dataclass(frozen=True)
class Rates:
    """Two scrapes an interval apart."""

    before: Samples
    after: Samples
    seconds: float

    def per_second(self, name: str, **match: str) -> float:
        return max(0.0, total(self.after, name, **match) - total(self.before, name, **match)) / self.seconds


def running_report(r: Rates) -> list[str]:
    """The lines about a running node: processes, ingest, traps, polls, commands, worker, MCP."""
    s = r.after
    lines = []
    up = by_label(s, "netobs_up", "process")
    rss = by_label(s, "process_resident_memory_bytes", "process")
    for (process,), v in sorted(up.items(), key=lambda kv: (kv[0] != ("node",), kv[0])):
        if v:
            lines.append(f"  {process} up, {rss.get((process,), 0) / 1e6:.0f} MB resident")
        else:
            lines.append(f"  {process} NOT ANSWERING")
    parse = by_label(s, "netobs_worker_parse_process_resident_bytes", "index")
    if parse:
        plural = "es" if len(parse) > 1 else ""
        lines.append(f"  {len(parse)} parse process{plural}, {sum(parse.values()) / 1e6:.0f} MB resident")
    for (transport,), received in sorted(by_label(s, "netobs_syslog_received_total", "transport").items()):
        t = {"transport": transport}
        dropped = by_label(s, "netobs_syslog_dropped_total", "transport", "reason")
        rate = r.per_second("netobs_syslog_received_total", **t)
        lines.append(
            f"  syslog {transport}: received {received:.0f} ({rate:,.1f}/s), "
            f"accepted {total(s, 'netobs_syslog_accepted_total', **t):.0f}, "
            f"dropped {dropped.get((transport, 'queue'), 0):.0f} (kernel {dropped.get((transport, 'kernel'), 0):.0f})"
            + (f", {total(s, 'netobs_syslog_connections', **t):.0f} connections" if transport != "udp" else "")
        )
    if any(name == "netobs_traps_received_total" for name, _ in s):
        lines.append(
            f"  traps: received {total(s, 'netobs_traps_received_total'):.0f} "
            f"({r.per_second('netobs_traps_received_total'):,.1f}/s), "
            f"accepted {total(s, 'netobs_traps_accepted_total'):.0f}, "
            f"rejected {total(s, 'netobs_traps_rejected_total'):.0f}, "
            f"dropped {total(s, 'netobs_traps_dropped_total'):.0f}"
        )
    polls = by_label(s, "netobs_polls_total", "outcome")
    if polls:
        lines.append(
            "  polls: "
            + ", ".join(f"{o} {n:.0f}" for (o,), n in sorted(polls.items()))
            + f" ({r.per_second('netobs_polls_total'):,.1f}/s), late {total(s, 'netobs_polls_late_total'):.0f}"
        )
    commands = by_label(s, "netobs_executor_commands_total", "step")
    if commands:
        lines.append("  commands: " + ", ".join(f"{step} {n:.0f}" for (step,), n in sorted(commands.items())))
    lag = by_label(s, "netobs_worker_consumer_lag", "topic")
    inserts = total(s, "netobs_clickhouse_insert_seconds_count")
    mean_ms = 1000 * total(s, "netobs_clickhouse_insert_seconds_sum") / inserts if inserts else 0.0
    lines.append(
        f"  worker: {total(s, 'netobs_clickhouse_rows_inserted_total'):.0f} rows stored "
        f"({r.per_second('netobs_clickhouse_rows_inserted_total'):,.1f}/s), {inserts:.0f} inserts "
        f"(mean {mean_ms:.1f} ms), lag {sum(lag.values()):.0f} records"
        + (" (" + ", ".join(f"{t} {n:.0f}" for (t,), n in sorted(lag.items()) if n) + ")" if any(lag.values()) else "")
        + f", {total(s, 'netobs_worker_records_undecodable_total'):.0f} undecodable"
    )
    calls = total(s, "netobs_mcp_tool_calls_total")
    if calls or any(name == "netobs_mcp_requests_total" for name, _ in s):
        lines.append(
            f"  mcp: {total(s, 'netobs_mcp_requests_total'):.0f} requests, {calls:.0f} tool calls, "
            f"{total(s, 'netobs_mcp_denials_total'):.0f} denied"
        )
    return lines


def disk_use(data_dir: Path) -> tuple[int, dict[str, int]]:
    """Bytes on disk under data_dir, and by its top-level entries (allocated blocks, as du counts: Kafka's
    index files are large and sparse)."""
    parts: dict[str, int] = {}
    for entry in sorted(data_dir.iterdir()) if data_dir.is_dir() else []:
        parts[entry.name] = _size(entry)
    return sum(parts.values()), parts


def _size(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_blocks * 512
    size = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a segment deleted while we walked
                size += os.lstat(os.path.join(root, name)).st_blocks * 512
    return size


def last_errors(data_dir: Path, count: int = ERROR_LINES) -> list[str]:
    """The newest lines of the services' error logs (each line starts with its time, so they sort)."""
    lines = []
    for path in logs.error_logs(data_dir):
        try:
            lines += [line for line in path.read_text(errors="replace").splitlines() if line[:4].isdigit()]
        except OSError:
            continue
    return sorted(lines)[-count:]


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


def report(
    config: Config,
    url: str,
    rates: Rates | None,
    why_not: str,
    disk: tuple[int, Mapping[str, int]],
    errors: Iterable[str],
) -> str:
    """The screen: state, then (when running) processes and rates, then retention, disk and last errors."""
    lines = [f"netobs status of {config.data_dir.resolve()}"]
    if rates is not None:
        lines.append(f"node is running (metrics {url}, rates over {rates.seconds:.1f} s)")
        lines += running_report(rates)
    else:
        lines.append(f"node is not running: {why_not}")
    k = config.kafka
    cap = "no size cap" if k.retention_bytes == -1 else f"at most {_mb(k.retention_bytes)} per partition"
    lines.append(
        f"retention: ClickHouse {config.clickhouse.retention_days} days; Kafka topics {k.retention_hours} h, {cap}"
    )
    used, parts = disk
    lines.append(f"disk: {_mb(used)} in the data directory" + (": " if parts else ""))
    lines += [f"  {name:<20} {_mb(size)}" for name, size in sorted(parts.items(), key=lambda kv: -kv[1])]
    errors = list(errors)
    lines.append("last errors: " + ("none logged" if not errors else ""))
    lines += [f"  {line}" for line in errors]
    return "\n".join(lines) + "\n"


def run(config: Config, out: TextIO, interval: float = 2.0) -> int:
    """Print the status screen; 0 when the node runs, 3 when it does not, 1 when its metrics are refused."""
    m = config.metrics
    host = "127.0.0.1" if m.bind in ("0.0.0.0", "::") else m.bind
    url = f"http://{host}:{m.port}/metrics" if ":" not in host else f"http://[{host}]:{m.port}/metrics"
    token = _token(config) if m.access == "token" else None
    rates, why_not, status = None, "", NOT_RUNNING
    if not m.port:
        why_not = "the metrics endpoint is off (NETOBS_METRICS_PORT=0), so this cannot tell"
    else:
        try:
            before = scrape(url, token)
            if before is None:
                why_not = f"nothing answers on {url}"
            else:
                started = time.monotonic()
                time.sleep(interval)
                after = scrape(url, token) or before
                rates, status = Rates(before, after, time.monotonic() - started), 0
        except Unreadable as exc:
            why_not, status = f"{exc} (give a token with the metrics scope in NETOBS_MCP_TOKEN)", 1
    out.write(report(config, url, rates, why_not, disk_use(config.data_dir), last_errors(config.data_dir)))
    return status


def _token(config: Config) -> str | None:
    """The configured admin token, else the one the node keeps in its data directory (never created here)."""
    if config.mcp.token:
        return config.mcp.token
    path = config.data_dir / "mcp_token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None
