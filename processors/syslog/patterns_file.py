"""Offline template mining of a log file: what `netobs patterns FILE` does.

Each line is parsed as the worker parses it (raw syslog with <PRI> and headers, or plain text) and the
miner sees the same mining text, so a user can check on a file what the pipeline will make of it.

The CSV gives every line its cluster's final template, not the one the cluster had when the line was
read: templates only generalise, so early lines of a cluster would otherwise carry ids that no longer
exist at the end, and the same kind of line would show up under several ids. Reading stdin allows one
pass only, so the ids are buffered (8 bytes a line) and mapped through the miner's re-pointing at the
end; the CSV is written after the input is exhausted.
"""

from __future__ import annotations

import csv
import os
import stat
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import BinaryIO, TextIO

from common.progress import Progress
from processors.syslog.miner import Miner
from processors.syslog.parse import mining_text, parse

__all__ = ["UPDATE_LINES", "mine_lines", "run"]

UPDATE_LINES = 1024
"""Progress is offered every this many lines (it draws at most 10 times a second, or a line every 5 s)."""
_BLANK = -1  # id slot of a blank line, which is not mined


def mine_lines(
    lines: Iterable[bytes], source: str = "file", miner: Miner | None = None
) -> Iterator[tuple[int, int, str]]:
    """(line number from 1, template id, template at that time) for each non-blank line.

    Blank lines are skipped but counted. A line's parsed event time is its seen time, so a cluster's
    first_seen is when its first line was logged. Pass a miner to read its changes() afterwards.
    """
    miner = Miner() if miner is None else miner
    add = miner.add
    template = miner.template
    received_ns = time.time_ns()
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        parsed = parse(line, received_ns, source)
        tid = add(mining_text(parsed), parsed.event_time_ns)
        yield number, tid, template(tid) or ""


def run(path: str, out: TextIO, summary: TextIO, progress: bool) -> int:
    """Mine path ("-" for stdin); CSV line,template_id,template to out, a count table to summary.

    Exit code 0, or 2 when the file cannot be read. Progress goes to stderr: a bar on a terminal (with the
    share of the file read and the time left), a plain line every few seconds otherwise.
    """
    miner = Miner()
    ids = array("q")  # index = line number - 1
    start = time.monotonic()
    read = [0]
    try:
        with _open(path) as f:
            meter = Progress("patterns", _size(f), "B") if progress else None
            for number, tid, _ in mine_lines(_counted(f, read), path, miner):
                ids.extend([_BLANK] * (number - 1 - len(ids)))
                ids.append(tid)
                if meter is not None and number % UPDATE_LINES == 0:
                    meter.update(read[0], f"{number:,} lines, {len(miner):,} templates")
    except OSError as e:
        print(f"patterns: {path}: {e.strerror or e}", file=sys.stderr)
        return 2
    if meter is not None:
        meter.finish(read[0], f"{len(ids):,} lines read, {len(miner):,} templates")
    current = {c.template_id: c.current_id for c in miner.changes()}
    counts: Counter[int] = Counter()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("line", "template_id", "template"))
    template = miner.template
    for index, tid in enumerate(ids):
        if tid == _BLANK:
            continue
        final = current.get(tid, tid)
        counts[final] += 1
        writer.writerow((index + 1, final, template(final)))
    _write_summary(summary, counts, miner)
    if progress:
        print(f"patterns: done, {sum(counts.values()):,} lines in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


def _counted(lines: Iterable[bytes], read: list[int]) -> Iterator[bytes]:
    """The lines, adding their bytes to read[0] (how far into the file the miner is)."""
    for raw in lines:
        read[0] += len(raw)
        yield raw


def _size(f: BinaryIO) -> int | None:
    """The size of a regular file (the progress total); None for a pipe or a terminal."""
    try:
        info = os.fstat(f.fileno())
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _open(path: str) -> AbstractContextManager[BinaryIO]:
    """The file, or stdin's bytes for "-" (left open: it is not ours to close)."""
    return nullcontext(sys.stdin.buffer) if path == "-" else open(path, "rb")


def _write_summary(summary: TextIO, counts: Counter[int], miner: Miner) -> None:
    """Templates by count, most frequent first (ties by id): count, template id, final template."""
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max([len(f"{c:,}") for _, c in rows] + [len("count")])
    summary.write(f"{'count':>{width}}  {'template_id':<19}  template\n")
    for tid, count in rows:
        summary.write(f"{count:>{width},}  {tid:<19}  {miner.template(tid)}\n")
    summary.write(f"{sum(counts.values()):,} lines, {len(rows):,} templates\n")
