"""The spool's files: segments of framed Kafka records under a private directory, appended while the broker
cannot take them, read back in order once it can, each segment deleted only when the broker acknowledged
every record in it.

It is rsyslog's disk-assisted queue in spirit: memory first, disk when memory is full or the broker has been
silent for a while, a bound on the disk too. The format (framing, checksums, names) is ingest.spool.format;
this module owns the files, the bound and the accounting. It runs on the event loop: one write() per
record into the page cache (no fsync: a crash of the process loses nothing written, a crash of the machine
may lose the last seconds, as the broker's own default does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
from pathlib import Path

from ingest.spool import format as fmt

log = logging.getLogger("netobs.ingest")

FULL = "spool_full"
ERROR = "spool_error"
"""Why append() refused a record: the bound is reached, or the disk failed the write."""
REOPEN_AT = 0.9
"""Once full, the spool takes records again only below this fraction of its bound: past the bound the newest
records are dropped, not every other one that happens to fit."""
MIN_SEGMENT_BYTES = 4 * 1024 * 1024
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
LOCK_FILE = "lock"

Ref = tuple[int, int]
"""A record read from the spool: (segment number, frame index), handed back to acked()."""


class SpoolBusy(RuntimeError):
    """Another process holds this spool directory."""


@dataclasses.dataclass
class SpoolStats:
    """What an operator sees of a spool: gauges of what it holds, and what it had to discard."""

    bytes: int = 0
    """Bytes of segment files on disk (the bound applies to this)."""
    records: int = 0
    """Records in the spool not yet acknowledged by the broker."""
    lines: int = 0
    """Their lines (traps, for the trap receiver)."""
    restored_lines: int = 0
    """Lines found in the spool at start (left by a previous run), sent since or still waiting."""
    torn: int = 0
    """Torn or damaged frames found (a crash mid-write); each ends the reading of its segment."""
    torn_bytes: int = 0
    """Bytes after such a frame that could not be used."""


class _Segment:
    """One segment file and where reading and acknowledgement stand in it."""

    def __init__(self, seq: int, path: Path, start: int, size: int) -> None:
        self.seq = seq
        self.path = path
        self.start = start
        """Offset of the first frame not known to be acknowledged."""
        self.size = size
        self.ends: list[int] = []
        self.lines: list[int] = []
        self.read = 0
        """Frames handed out by next()."""
        self.prefix = 0
        """Frames acknowledged without a gap from the start."""
        self.done: set[int] = set()
        """Frames acknowledged after a gap."""
        self.fd: int | None = None
        """Open for appending while this is the segment being written."""

    def begin(self, index: int) -> int:
        return self.ends[index - 1] if index else self.start


class Spool:
    """A bounded, ordered, restart-proof queue of Kafka records on disk. Not thread-safe: one event loop."""

    def __init__(self, directory: Path, max_bytes: int, stats: SpoolStats) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(MIN_SEGMENT_BYTES, min(MAX_SEGMENT_BYTES, max_bytes // 16))
        self.stats = stats
        self._segments: list[_Segment] = []
        self._next_seq = 0
        self._lock_fd: int | None = None
        self._full = False

    @classmethod
    def open(cls, directory: Path, max_bytes: int, stats: SpoolStats) -> Spool:
        """Take the directory (0700, created if missing) and read what a previous run left, in order."""
        spool = cls(directory, max_bytes, stats)
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpoolBusy(f"spool {directory} is held by another process") from None
        spool._lock_fd = fd
        spool._restore()
        return spool

    @property
    def unread(self) -> bool:
        """Records on disk that next() has not handed out yet: new records must queue behind them."""
        return any(s.read < len(s.ends) for s in self._segments)

    def append(self, partition: int, transport: str, lines: int, payload: bytes) -> str | None:
        """Write a record at the end; None when written, else why not (FULL, ERROR), and nothing is written."""
        data = fmt.frame(partition, transport, lines, payload)
        if self._full and self.stats.bytes < REOPEN_AT * self.max_bytes:
            self._full = False
        if self._full or self.stats.bytes + len(data) > self.max_bytes:
            self._full = True
            return FULL
        segment = self._writable(len(data))
        if segment is None or segment.fd is None:
            return ERROR
        written = 0
        try:
            while written < len(data):
                written += os.write(segment.fd, data[written:])
        except OSError as exc:
            log.error(
                "spool %s: write failed (%s): record dropped, the next goes to a new segment", self.directory, exc
            )
            segment.size += written
            self.stats.bytes += written
            self._seal(segment)
            return ERROR
        segment.size += len(data)
        segment.ends.append(segment.size)
        segment.lines.append(lines)
        self.stats.bytes += len(data)
        self.stats.records += 1
        self.stats.lines += lines
        return None

    def next(self) -> tuple[Ref, fmt.Frame] | None:
        """The oldest record not handed out yet, or None. A frame that does not read back whole ends its segment."""
        for segment in list(self._segments):
            while segment.read < len(segment.ends):
                index = segment.read
                begin, end = segment.begin(index), segment.ends[index]
                try:
                    with open(segment.path, "rb") as f:
                        f.seek(begin)
                        data = f.read(end - begin)
                except OSError as exc:
                    log.error("spool %s: cannot read %s (%s)", self.directory, segment.path.name, exc)
                    data = b""
                found = fmt.read_frame(data, 0)
                if found is None:
                    self._cut(segment, index, segment.size - begin)
                    break
                segment.read += 1
                return (segment.seq, index), dataclasses.replace(found, end=end)
        return None

    def acked(self, ref: Ref) -> None:
        """The broker has this record: once every record of its segment before it is acknowledged too, the
        read position moves past it, and a segment whose records are all acknowledged is deleted."""
        seq, index = ref
        segment = next((s for s in self._segments if s.seq == seq), None)
        if segment is None or index < segment.prefix:
            return
        segment.done.add(index)
        moved = False
        while segment.prefix in segment.done:
            segment.done.discard(segment.prefix)
            self.stats.records -= 1
            self.stats.lines -= segment.lines[segment.prefix]
            segment.prefix += 1
            moved = True
        if segment.prefix == len(segment.ends):
            self._delete(segment)
        elif moved and segment is self._segments[0]:
            self._write_position(segment)

    def close(self) -> None:
        """Stop writing; what is left stays for the next start."""
        for segment in list(self._segments):
            self._seal(segment)
        if self._segments:
            self._write_position(self._segments[0])
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _restore(self) -> None:
        position = None
        with contextlib.suppress(FileNotFoundError):
            position = fmt.parse_position((self.directory / fmt.POSITION_FILE).read_text())
        found = sorted(
            (seq, path) for path in self.directory.iterdir() if (seq := fmt.segment_seq(path.name)) is not None
        )
        for seq, path in found:
            os.chmod(path, 0o600)
            data = path.read_bytes()
            start = position[1] if position is not None and position[0] == seq and position[1] <= len(data) else 0
            scanned = fmt.scan(data, start)
            segment = _Segment(seq, path, start, len(data))
            segment.ends = [f.end for f in scanned.frames]
            segment.lines = [f.lines for f in scanned.frames]
            self._next_seq = seq + 1
            self.stats.bytes += len(data)
            if scanned.torn_bytes:
                self._torn(path.name, scanned.torn_bytes)
            if not segment.ends:
                self._delete(segment, known=False)
                continue
            self._segments.append(segment)
            lines = sum(segment.lines)
            self.stats.records += len(segment.ends)
            self.stats.lines += lines
            self.stats.restored_lines += lines
        if self.stats.records:
            log.warning(
                "spool %s: %d records (%d lines, %d bytes) left by a previous run; sending them once the broker "
                "takes them",
                self.directory,
                self.stats.records,
                self.stats.lines,
                self.stats.bytes,
            )

    def _writable(self, size: int) -> _Segment | None:
        """The segment to append to, a new one when there is none or the current one would pass segment_bytes."""
        last = self._segments[-1] if self._segments else None
        if last is not None and last.fd is not None and last.size + size <= self.segment_bytes:
            return last
        if last is not None:
            self._seal(last)
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        path = self.directory / fmt.segment_name(seq)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            log.error("spool %s: cannot create %s (%s)", self.directory, path.name, exc)
            return None
        segment = _Segment(seq, path, 0, 0)
        segment.fd = fd
        self._segments.append(segment)
        return segment

    def _seal(self, segment: _Segment) -> None:
        if segment.fd is not None:
            os.close(segment.fd)
            segment.fd = None
            if segment.prefix == len(segment.ends):
                self._delete(segment)

    def _delete(self, segment: _Segment, known: bool = True) -> None:
        if segment.fd is not None:
            os.close(segment.fd)
            segment.fd = None
        try:
            segment.path.unlink()
        except OSError as exc:
            log.error("spool %s: cannot delete %s (%s)", self.directory, segment.path.name, exc)
            return
        self.stats.bytes -= segment.size
        if known:
            head = self._segments[0] is segment
            self._segments.remove(segment)
            if head and self._segments:
                self._write_position(self._segments[0])

    def _cut(self, segment: _Segment, index: int, torn_bytes: int) -> None:
        """Frames from index on do not read back: count them as torn, forget them."""
        lost = segment.lines[index:]
        self.stats.records -= len(lost)
        self.stats.lines -= sum(lost)
        del segment.ends[index:], segment.lines[index:]
        self._torn(segment.path.name, torn_bytes)
        self._seal(segment)
        if segment.prefix == len(segment.ends) and segment in self._segments:
            self._delete(segment)

    def _torn(self, name: str, torn_bytes: int) -> None:
        self.stats.torn += 1
        self.stats.torn_bytes += torn_bytes
        log.warning(
            "spool %s: %s ends in %d bytes that are not a whole record (a crash mid-write, or damage): skipped",
            self.directory,
            name,
            torn_bytes,
        )

    def _write_position(self, head: _Segment) -> None:
        """Where the next start begins reading the oldest segment (tmp file and rename: never half written)."""
        offset = head.begin(head.prefix)
        tmp = self.directory / (fmt.POSITION_FILE + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(fmt.position_text(head.seq, offset))
            os.replace(tmp, self.directory / fmt.POSITION_FILE)
        except OSError as exc:
            log.error("spool %s: cannot write the read position (%s)", self.directory, exc)


def open_spool(directory: Path | None, max_bytes: int, stats: SpoolStats) -> Spool | None:
    """The spool a receiver runs with, or None (no directory, a bound of 0, or the directory unusable: said in
    the log, and the receiver runs on, dropping what the memory queue cannot hold, as without a spool)."""
    if directory is None or not max_bytes:
        return None
    try:
        return Spool.open(directory, max_bytes, stats)
    except (OSError, SpoolBusy) as exc:
        log.error("spool %s not usable (%s): lines the broker cannot take are dropped, counted", directory, exc)
        return None
