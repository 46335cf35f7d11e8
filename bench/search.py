"""Bytes on disk per stored syslog line and search speed, beside gzip -6 and grep over the same lines.

Generates a realistic mix (bench/corpus.py's bodies from 86 templates of many vendors, framed as BSD with a
tag and PID, Cisco IOS with a sequence number and mnemonic, RFC 5424 with and without SD, and bare
vendor lines, from 240 hosts, in time order at 1000 lines/s) with a rare token planted in 20 lines. The
lines go through the project's own row building (processors.syslog.rows: parse and mine, the columns the
worker writes) into chdb with the project's own migrations, then OPTIMIZE ... FINAL. Measured in one run:

- bytes on disk per line (system.parts, every file of the active parts: columns, marks, primary key, skip
  indexes) and what each column and index costs (system.columns, system.data_skipping_indices), against
  `gzip -6` of the same lines written to a file (one per line);
- search_syslog's own SQL (query_mcp.sql.syslog_queries, as the tool builds it) for the rare token and for
  a regular expression, beside `grep -F` / `grep -E` over the file (LC_ALL=C, the faster grep), and
  get_syslog_summary's SQL over the whole window beside one `grep -c -F` pass over the file. Each is run
  --runs times, alternating, and the medians compared; the hit counts are checked to agree.

    python bench/search.py [--lines 10000000] [--runs 5] [--keep DIR [--reuse]]

--reuse measures a store kept by an earlier run (--keep) with the same --lines and --seed instead of storing the
lines again: the migrations not applied to it yet run first (as at a node's start after an upgrade), then their
background work is waited for and the table merged again.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median, say
from corpus import generate

from common import clickhouse, migrations
from processors import clickhouse_writer
from processors.syslog.miner import Miner
from processors.syslog.rows import record_columns
from query_mcp.sql import syslog_queries as q
from schemas import raw_syslog
from schemas.tables import SYSLOG

DB = "netobs"
TOKEN = "kx7intruder"
"""The rare token: a user name no template produces, planted in RARE_HITS lines."""
RARE_HITS = 20
REGEX = r"Failed password for (invalid user )?(root|admin) from 10\."
"""A regular expression an operator might search with: few hundred hits per million lines."""
READ_COUNTERS = ("SelectedMarks", "SelectedRows", "CompressedReadBufferBytes")
"""Granules and rows a query selected after the indexes, and the bytes it decompressed."""
RECORD_LINES = 1000
INSERT_ROWS = 100_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SITES = ("tyo", "osk", "fra", "ams", "nyc", "sjc")
_ROLES = ("core-sw", "edge-rtr", "fw", "web", "db", "mail", "ap", "vpn-gw", "nas", "lb")


def hosts() -> list[str]:
    """240 host names: 10 roles at 6 sites, 4 of each."""
    return [f"{role}{n}.{site}.example.net" for site in _SITES for role in _ROLES for n in range(1, 5)]


def frame(rng: random.Random, body: str, host: str, t_ns: int, seq: int) -> str:
    """One corpus body ("TAG message") in the framing a device of that kind sends."""
    tag, _, message = body.partition(" ")
    t = time.gmtime(t_ns // 1_000_000_000)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    pri = rng.choice((13, 14, 30, 38, 86, 134, 158, 165, 189, 190))
    if body.startswith("date="):  # FortiGate: key=value pairs instead of a header
        return f"<{pri}>{body}"
    if tag.isupper() or tag in ("ASA", "DUAL"):  # a Cisco mnemonic
        sev = pri & 7
        if tag == "ASA":
            return f"<{pri}>{stamp} {host} : %ASA-{sev}-{302000 + len(message.split(' ', 1)[0]) * 7}: {message}"
        ms = (t_ns // 1_000_000) % 1000
        return f"<{pri}>{seq}: *{stamp}.{ms:03d}: %{tag}-{sev}-{rng.choice(('UPDOWN', 'CHANGED', 'NOTICE'))}: {message}"
    r = rng.random()
    pid = 300 + zlib.crc32(f"{host} {tag} {t_ns // 3_600_000_000_000}".encode()) % 60000  # kept for a while
    if r < 0.2:
        frac = (t_ns // 1000) % 1_000_000
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{frac:06d}Z"
        sd = f' [meta@32473 seq="{seq}"]' if r < 0.1 else " -"
        return f"<{pri}>1 {iso} {host} {tag} {pid} - {sd[1:]} {message}"
    if r < 0.3:
        return f"<{pri}>{stamp} {host} {tag}: {message}"
    return f"<{pri}>{stamp} {host} {tag}[{pid}]: {message}"


def make_lines(count: int, seed: int, start_ns: int) -> Iterator[tuple[list[int], list[str], list[bytes]]]:
    """Batches of (received_ns, sources, lines), 1000 lines/s from start_ns, with TOKEN in RARE_HITS lines."""
    rng = random.Random(seed)
    names = hosts()
    addresses = [f"10.{20 + i // 200}.{i % 200}.{1 + i % 250}" for i in range(len(names))]
    weights = [1.0 / (i + 1) ** 0.7 for i in range(len(names))]  # a few chatty devices, many quiet ones
    planted = set(rng.sample(range(count), min(RARE_HITS, count)))
    done = 0
    chunk = 200_000
    while done < count:
        n = min(chunk, count - done)
        bodies, _ = generate(n, seed + done)
        picks = rng.choices(range(len(names)), weights=weights, k=n)
        for first in range(0, n, RECORD_LINES):
            received, sources, lines = [], [], []
            for j in range(first, min(first + RECORD_LINES, n)):
                i = done + j
                t_ns = start_ns + i * 1_000_000 + rng.randint(0, 999_999)
                body = bodies[j]
                if i in planted:
                    body = f"sshd Failed password for invalid user {TOKEN} from 10.9.{i % 256}.7 port 22 ssh2"
                h = picks[j]
                received.append(t_ns)
                sources.append(addresses[h])
                lines.append(frame(rng, body, names[h], t_ns, i).encode())
            yield received, sources, lines
        done += n


def store(client: Any, count: int, seed: int, start_ns: int, raw_path: Path) -> float:
    """Build rows as the worker does and insert them; write the same lines to raw_path. Returns seconds."""
    began = time.perf_counter()
    miner = Miner()
    pending: dict[str, list[Any]] = {}
    offset = 0
    with raw_path.open("wb") as out:
        for received, sources, lines in make_lines(count, seed, start_ns):
            out.write(b"\n".join(lines) + b"\n")
            batch = raw_syslog.RawBatch(raw_syslog.WIRE_VERSION, "udp", received, sources, lines, [0] * len(lines))
            cols = record_columns(raw_syslog.encode(batch), 0, offset, received[-1], miner)
            offset += 1
            for name, values in cols.items():
                pending.setdefault(name, []).extend(values)
            if len(pending["message"]) >= INSERT_ROWS:
                clickhouse_writer.insert_columns(client, DB, SYSLOG, pending)
                clickhouse_writer.insert_patterns(client, DB, [(c, time.time_ns() // 1000) for c in miner.changes()])
                pending = {}
                say(f"  stored {offset * RECORD_LINES:,} lines ({time.perf_counter() - began:.0f} s)")
    if pending:
        clickhouse_writer.insert_columns(client, DB, SYSLOG, pending)
    clickhouse_writer.insert_patterns(client, DB, [(c, time.time_ns() // 1000) for c in miner.changes()])
    return time.perf_counter() - began


def settle(client: Any) -> None:
    """Wait for the table's mutations (an index materialized by a migration) to finish."""
    query = f"SELECT count() FROM system.mutations WHERE database = '{DB}' AND table = '{SYSLOG}' AND NOT is_done"
    while client.query(query).result_rows[0][0]:
        time.sleep(1)


def counters(client: Any) -> dict[str, int]:
    """The engine's READ_COUNTERS so far (system.events)."""
    names = ", ".join(f"'{name}'" for name in READ_COUNTERS)
    found = dict(client.query(f"SELECT event, value FROM system.events WHERE event IN ({names})").result_rows)
    return {name: int(found.get(name, 0)) for name in READ_COUNTERS}


def disk(client: Any, rows: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Bytes of the active parts, and (column or index, compressed, uncompressed bytes) biggest first."""
    total = client.query(
        f"SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '{DB}' AND table = '{SYSLOG}' AND active"
    ).result_rows[0][0]
    cols = client.query(
        "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns "
        f"WHERE database = '{DB}' AND table = '{SYSLOG}' AND data_compressed_bytes > 0"
    ).result_rows
    idx = client.query(
        "SELECT concat('INDEX ', name), data_compressed_bytes, data_uncompressed_bytes "
        f"FROM system.data_skipping_indices WHERE database = '{DB}' AND table = '{SYSLOG}'"
    ).result_rows
    return int(total), sorted(((str(n), int(c), int(u)) for n, c, u in [*cols, *idx]), key=lambda r: -r[1])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def grep(args: list[str], path: Path) -> int:
    """grep's output line count (or -c count) over the file."""
    env = {**os.environ, "LC_ALL": "C"}
    out = subprocess.run(["grep", *args, str(path)], capture_output=True, env=env, check=False).stdout
    return int(out) if "-c" in args else out.count(b"\n")


def compare(
    runs: int, ours: Callable[[], Any], theirs: Callable[[], Any]
) -> tuple[float, float, Any, Any]:  # fmt: skip
    """Median seconds of each, run alternately, and the last results."""
    a: list[float] = []
    b: list[float] = []
    mine = other = None
    for r in range(runs):
        order = [(a, ours), (b, theirs)]
        for times, fn in order if r % 2 == 0 else order[::-1]:
            seconds, result = timed(fn)
            times.append(seconds)
            if fn is ours:
                mine = result
            else:
                other = result
    return median(a), median(b), mine, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the chdb data and the lines file in this directory")
    parser.add_argument("--reuse", action="store_true", help="measure the store kept in --keep, upgraded")
    args = parser.parse_args()
    if args.reuse and args.keep is None:
        parser.error("--reuse needs --keep DIR")
    work = args.keep or Path(tempfile.mkdtemp(prefix="netobs-search-"))
    work.mkdir(parents=True, exist_ok=True)
    raw_path = work / "lines.log"
    client = clickhouse.connect(f"chdb://{work / 'chdb'}")
    try:
        stored_s: float | None
        if args.reuse:
            say(f"reusing the store in {work}: migrations applied now: {migrations.apply(client, DB, 3650)}")
            settle(client)
            first, last = client.query(f"SELECT min(received_at), max(received_at) FROM {DB}.{SYSLOG}").result_rows[0]
            start, now = first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)
            stored_s = None  # stored by the run that kept the store
        else:
            migrations.apply(client, DB, 3650)
            client.command(f"TRUNCATE TABLE {DB}.{SYSLOG}")
            now = datetime.now(UTC).replace(microsecond=0)
            start = now - timedelta(seconds=args.lines // 1000 + 3600)
            say(f"storing {args.lines:,} lines")
            stored_s = store(client, args.lines, args.seed, int(start.timestamp()) * 1_000_000_000, raw_path)
        merge_s, _ = timed(lambda: client.command(f"OPTIMIZE TABLE {DB}.{SYSLOG} FINAL"))
        rows = client.query(f"SELECT count() FROM {DB}.{SYSLOG}").result_rows[0][0]
        assert rows == args.lines, (rows, args.lines)
        kept = client.query(f"SELECT count(), sum(sipHash64(raw)) FROM {DB}.{SYSLOG}").result_rows[0]
        lines_file = f"file('{raw_path}', 'LineAsString')"
        sent = client.query(f"SELECT count(), sum(sipHash64(line)) FROM {lines_file}").result_rows[0]
        say(f"raw column gives back every line as sent: {kept == sent}")
        gz_path = work / "lines.log.gz"
        with gz_path.open("wb") as gz:
            subprocess.run(["gzip", "-6", "-c", str(raw_path)], stdout=gz, check=True)
        raw_bytes, gz_bytes = raw_path.stat().st_size, gz_path.stat().st_size
        total, parts = disk(client, rows)
        stored = "earlier" if stored_s is None else f"in {stored_s:.0f} s"
        say(f"stored {stored}, merged in {merge_s:.1f} s; lines file {raw_bytes / rows:.1f} bytes/line")
        say(f"{'column or index':<28}{'bytes/line':>12}{'ratio':>8}")
        for name, compressed, uncompressed in parts:
            ratio = uncompressed / compressed if compressed else 0
            say(f"{name:<28}{compressed / rows:>12.2f}{ratio:>8.1f}")
        say(f"{'all files of the parts':<28}{total / rows:>12.2f}")
        say(f"{'gzip -6 of the lines':<28}{gz_bytes / rows:>12.2f}")

        end = now + timedelta(hours=1)

        def tool(sql: str, params: dict[str, object]) -> Callable[[], int]:
            return lambda: len(client.query(sql, parameters=params).result_rows)

        def cost(sql: str, params: dict[str, object]) -> tuple[int, ...]:
            """The granules, rows and decompressed bytes the query reads, from the engine's counters before and
            after one more (untimed) run: nothing else runs in the engine meanwhile."""
            before = counters(client)
            client.query(sql, parameters=params)
            after = counters(client)
            return tuple(after[name] - before[name] for name in READ_COUNTERS)

        token_filter = q.SyslogFilter(start=start, end=end, message_filter=TOKEN)
        regex_filter = q.SyslogFilter(start=start, end=end, message_filter=REGEX)
        token_sql = q.search_sql(DB, token_filter, 10_000, False)
        regex_sql = q.search_sql(DB, regex_filter, 10_000, False)
        summary_sql = q.summary_sql(DB, q.SyslogFilter(start=start, end=end), 5)
        tok_s, tok_grep_s, tok_hits, tok_grep_hits = compare(
            args.runs, tool(*token_sql), lambda: grep(["-F", TOKEN], raw_path)
        )
        re_s, re_grep_s, re_hits, re_grep_hits = compare(
            args.runs, tool(*regex_sql), lambda: grep(["-E", REGEX], raw_path)
        )
        sum_s, pass_s, patterns, counted = compare(
            args.runs, tool(*summary_sql), lambda: grep(["-c", "-F", TOKEN], raw_path)
        )
        tok, rex, summ = cost(*token_sql), cost(*regex_sql), cost(*summary_sql)
        say(
            f"{'search':<26}{'netobs s':>9}{'grep s':>9}{'speedup':>8}{'hits':>7}{'grep':>6}"
            f"{'granules':>9}{'rows':>12}{'MB':>8}"
        )
        for name, ours, theirs, hits, grep_hits, (marks, read_rows, read_bytes) in (
            ("token (message_filter)", tok_s, tok_grep_s, tok_hits, tok_grep_hits, tok),
            ("regex (message_filter)", re_s, re_grep_s, re_hits, re_grep_hits, rex),
            ("summary vs grep -c pass", sum_s, pass_s, patterns, counted, summ),
        ):
            say(
                f"{name:<26}{ours:>9.4f}{theirs:>9.4f}{theirs / ours:>8.2f}{hits:>7}{grep_hits:>6}"
                f"{marks:>9,}{read_rows:>12,}{read_bytes / 1e6:>8.1f}"
            )
        if tok_hits != tok_grep_hits or re_hits != re_grep_hits:
            say("WARNING: hit counts differ from grep's")
        print(
            json.dumps(
                {
                    "lines": rows,
                    "raw_exact": kept == sent,
                    "bytes_per_line": round(total / rows, 2),
                    "gzip_bytes_per_line": round(gz_bytes / rows, 2),
                    "disk_ratio_vs_gzip": round(total / gz_bytes, 3),
                    "raw_bytes_per_line": round(raw_bytes / rows, 1),
                    "columns_bytes_per_line": {n: round(c / rows, 2) for n, c, _ in parts},
                    "token_search_seconds": round(tok_s, 4),
                    "token_grep_seconds": round(tok_grep_s, 4),
                    "token_search_speedup_vs_grep": round(tok_grep_s / tok_s, 2),
                    "token_hits": tok_hits,
                    "regex_search_seconds": round(re_s, 4),
                    "regex_grep_seconds": round(re_grep_s, 4),
                    "regex_search_speedup_vs_grep": round(re_grep_s / re_s, 2),
                    "regex_hits": re_hits,
                    "token_granules": tok[0],
                    "token_rows_selected": tok[1],
                    "token_bytes_decompressed": tok[2],
                    "regex_granules": rex[0],
                    "regex_rows_selected": rex[1],
                    "regex_bytes_decompressed": rex[2],
                    "summary_granules": summ[0],
                    "summary_rows_selected": summ[1],
                    "summary_bytes_decompressed": summ[2],
                    "summary_seconds": round(sum_s, 4),
                    "grep_pass_seconds": round(pass_s, 4),
                    "stored_seconds": None if stored_s is None else round(stored_s, 1),
                    "merge_seconds": round(merge_s, 1),
                }
            )
        )
    finally:
        client.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
