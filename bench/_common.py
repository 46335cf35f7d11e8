"""Shared parts of the syslog benchmarks: a paced load sender, the netobs parts, kernel socket counters.

The sender runs in a child process of its own (`python bench/_common.py send ...`) so it never shares an
interpreter with what it measures. UDP goes out through sendmmsg(2) (called with ctypes, the standard
library has no binding) from a prebuilt ring of messages, in slices of at most a millisecond's worth, so
the offered rate is smooth and the sender costs little CPU; TCP writes slices of one prebuilt buffer.
With --stamp, every line carries its sequence number and the wall-clock time it was sent (for latency).

    python bench/_common.py send --transport udp --port 5514 --rate 50000 --count 150000

prints one JSON object: {"sent", "errors", "start", "end", "seconds", "rate"} (times are time.time()).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import ctypes
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (str(REPO_ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

HOST = "127.0.0.1"
RING_LINES = 50_000
"""Distinct lines the sender cycles through."""
MAX_SLICE = 256
"""Most datagrams in one sendmmsg call (and lines in one TCP write)."""
STOPPED_MARK = "syslog ingest stopped: "
"""The last log line of `netobs ingest`, followed by a repr of its counters."""


def say(message: str) -> None:
    """A progress line (stdout, flushed): the final JSON object is always the last line."""
    print(message, flush=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so cleanups (children, sysctl) run when the benchmark is stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# --- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def rounded(value: float, digits: int = 3) -> float | None:
    """JSON-friendly: None for nan."""
    return None if math.isnan(value) else round(value, digits)


# --- lines ----------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HOSTS = ("core-sw1", "edge-rtr2", "fw-dc1", "web-01", "db-01", "ap-3f-east", "vpn-gw", "nas01")


def _header(index: int, tag: str, now: float) -> str:
    """An RFC 3164 header: PRI, timestamp, host, tag[pid]."""
    t = time.gmtime(now)
    pri = 8 * (16 + index % 8) + (3 + index % 5)  # local0..local7, err..info
    host = _HOSTS[index % len(_HOSTS)]
    return f"<{pri}>{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {host} {tag}"


def bodies(count: int, seed: int) -> list[tuple[str, str]]:
    """(tag, message) pairs from bench/corpus.py: real-looking lines of 86 known templates."""
    from corpus import generate

    result = []
    for body in generate(count, seed)[0]:
        tag, _, message = body.partition(" ")
        result.append((tag, message))
    return result


def syslog_lines(count: int, seed: int = 1, size: int | None = None) -> list[bytes]:
    """count RFC 3164 lines with `seq=N` up front; with size, each is cut or padded to exactly size bytes."""
    now = time.time()
    lines = []
    for i, (tag, message) in enumerate(bodies(count, seed)):
        line = f"{_header(i, tag, now)}[{1000 + i % 5000}]: seq={i} {message}".encode()
        if size is not None:
            line = line[:size].ljust(size, b".")
        lines.append(line)
    return lines


def stamped_line(seq: int, sent: float, tag: str, message: str) -> bytes:
    """A line that says when it was sent: `seq=N sent=<unix seconds>` before the message."""
    return f"{_header(seq, tag, sent)}[{1000 + seq % 5000}]: seq={seq} sent={sent:.6f} {message}".encode()


# --- the sender (child process) -----------------------------------------------------------------


class _IoVec(ctypes.Structure):
    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


class _MsgHdr(ctypes.Structure):
    _fields_ = (
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    )


class _MMsgHdr(ctypes.Structure):
    _fields_ = (("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint))


class MmsgRing:
    """Prebuilt mmsghdr entries over one buffer of lines; send(start, n) sends n of them with sendmmsg."""

    def __init__(self, sock: socket.socket, lines: Sequence[bytes]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._sendmmsg = libc.sendmmsg
        self._sendmmsg.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
        self._fd = sock.fileno()
        self.size = len(lines)
        self._data = ctypes.create_string_buffer(b"".join(lines))
        self._iov = (_IoVec * self.size)()
        self._msgs = (_MMsgHdr * self.size)()
        base = ctypes.addressof(self._data)
        offset = 0
        for i, line in enumerate(lines):
            self._iov[i].iov_base = base + offset
            self._iov[i].iov_len = len(line)
            self._msgs[i].msg_hdr.msg_iov = ctypes.pointer(self._iov[i])
            self._msgs[i].msg_hdr.msg_iovlen = 1
            offset += len(line)
        self._base = ctypes.addressof(self._msgs)
        self._stride = ctypes.sizeof(_MMsgHdr)

    def buffer(self) -> memoryview:
        """The lines' bytes, writable in place (e.g. to stamp a sequence number before each send)."""
        return memoryview(self._data).cast("B")

    def send(self, start: int, n: int, fd: int | None = None) -> tuple[int, int]:
        """Send entries start..start+n-1 (start + n <= size) on the ring's socket, or on another connected
        socket fd (e.g. one bound to another source address); returns (sent, failed)."""
        fd = self._fd if fd is None else fd
        sent = failed = 0
        while sent + failed < n:
            done = self._sendmmsg(fd, self._base + (start + sent + failed) * self._stride, n - sent - failed, 0)
            if done < 0:
                failed += 1  # e.g. ECONNREFUSED from an earlier datagram: skip one and go on
            else:
                sent += done
        return sent, failed


class Pacer:
    """How many lines are due by now at `rate` lines/s (rate 0: as fast as possible)."""

    def __init__(self, rate: float, count: int) -> None:
        self.rate = rate
        self.count = count
        self.start = time.perf_counter()

    def due(self) -> int:
        if self.rate <= 0:
            return self.count
        return min(self.count, int((time.perf_counter() - self.start) * self.rate) + 1)

    def wait(self, done: int) -> None:
        """Sleep until the next line is due (at most half a millisecond at a time)."""
        ahead = (done + 1) / self.rate - (time.perf_counter() - self.start) if self.rate > 0 else 0
        if ahead > 0:
            time.sleep(min(ahead, 0.0005))


Outcome = tuple[int, int, float]
"""(sent, failed, wall-clock start of sending)."""


def pace_ring(
    ring: MmsgRing,
    rate: float,
    count: int,
    fds: Sequence[int] = (),
    before: Callable[[int, int, int], None] | None = None,
) -> Outcome:
    """count lines of ring at rate lines/s, in slices of at most MAX_SLICE, taking turns over fds (connected
    sockets; none: the ring's own); before(position, n, done) is called as each slice is about to go out (to
    stamp its lines in ring.buffer(), say)."""
    start = time.time()
    pacer = Pacer(rate, count)
    done = sent = failed = turn = 0
    while done < count:
        due = pacer.due()
        if due <= done:
            pacer.wait(done)
            continue
        position = done % ring.size
        n = min(due - done, MAX_SLICE, ring.size - position)
        if before is not None:
            before(position, n, done)
        ok, bad = ring.send(position, n, fds[turn % len(fds)] if fds else None)
        sent, failed, done, turn = sent + ok, failed + bad, done + n, turn + 1
    return sent, failed, start


def _send_udp_ring(sock: socket.socket, lines: list[bytes], rate: float, count: int) -> Outcome:
    return pace_ring(MmsgRing(sock, lines), rate, count)


def _send_tcp_ring(sock: socket.socket, lines: list[bytes], rate: float, count: int) -> Outcome:
    blob = b"".join(line + b"\n" for line in lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    view = memoryview(blob)
    start = time.time()
    pacer = Pacer(rate, count)
    done = 0
    while done < count:
        due = pacer.due()
        if due <= done:
            pacer.wait(done)
            continue
        position = done % len(lines)
        n = min(due - done, MAX_SLICE * 4, len(lines) - position)
        sock.sendall(view[offsets[position] : offsets[position + n]])
        done += n
    return done, 0, start


def _send_stamped(sock: socket.socket, transport: str, rate: float, count: int, seed: int) -> Outcome:
    """Each line formatted when it is sent, carrying its send time (meant for modest rates)."""
    pairs = bodies(min(count, RING_LINES), seed)
    start = time.time()
    pacer = Pacer(rate, count)
    done = failed = 0
    while done < count:
        due = pacer.due()
        if due <= done:
            pacer.wait(done)
            continue
        for seq in range(done, min(due, done + MAX_SLICE)):
            tag, message = pairs[seq % len(pairs)]
            line = stamped_line(seq, time.time(), tag, message)
            try:
                sock.send(line if transport == "udp" else line + b"\n")
            except ConnectionRefusedError:
                failed += 1
            done += 1
    return done - failed, failed, start


def send(
    transport: str, port: int, rate: float, count: int, size: int | None, seed: int, stamp: bool, bind: str = ""
) -> dict:
    """Send count lines to 127.0.0.1:port at rate lines/s (from address bind, if given, e.g. 127.0.0.3 to be a
    distinct source); returns what happened, with wall-clock times."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if bind:
            sock.bind((bind, 0))
        if transport == "udp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.connect((HOST, port))
        lines = [] if stamp else syslog_lines(min(count, RING_LINES), seed, size)
        if stamp:
            sent, failed, start = _send_stamped(sock, transport, rate, count, seed)
        elif transport == "udp":
            sent, failed, start = _send_udp_ring(sock, lines, rate, count)
        else:
            sent, failed, start = _send_tcp_ring(sock, lines, rate, count)
        end = time.time()
    seconds = max(end - start, 1e-9)
    return {"sent": sent, "errors": failed, "start": start, "end": end, "seconds": seconds, "rate": sent / seconds}


def send_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="_common.py send", description="Paced syslog sender (one JSON line out).")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=10_000, help="lines/s; 0 = as fast as possible")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--size", type=int, default=None, help="bytes per line (cut or padded); default natural")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stamp", action="store_true", help="embed seq and send time, formatted per line")
    parser.add_argument("--bind", default="", help="local address to send from (e.g. 127.0.0.3); default any")
    args = parser.parse_args(argv)
    result = send(args.transport, args.port, args.rate, args.count, args.size, args.seed, args.stamp, args.bind)
    print(json.dumps(result), flush=True)
    return 0


def _sender_args(
    transport: str, port: int, rate: float, count: int, size: int | None, seed: int, stamp: bool, bind: str = ""
) -> list[str]:
    args = [sys.executable, str(Path(__file__).resolve()), "send", "--transport", transport, "--port", str(port)]
    args += ["--rate", str(rate), "--count", str(count), "--seed", str(seed)]
    if size is not None:
        args += ["--size", str(size)]
    if stamp:
        args.append("--stamp")
    if bind:
        args += ["--bind", bind]
    return args


def start_sender(
    transport: str,
    port: int,
    rate: float,
    count: int,
    *,
    size: int | None = None,
    seed: int = 1,
    stamp: bool = False,
    bind: str = "",
) -> subprocess.Popen[str]:
    """Start the sender child without waiting; finish_sender() collects its result."""
    args = _sender_args(transport, port, rate, count, size, seed, stamp, bind)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_sender(proc: subprocess.Popen[str], timeout: float) -> dict:
    """Wait for the sender child; its JSON result."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"sender failed ({proc.returncode}): {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run_sender(
    transport: str, port: int, rate: float, count: int, *, size: int | None = None, seed: int = 1, stamp: bool = False
) -> dict:
    """Run the sender in a child process and wait for it; returns its JSON result."""
    proc = start_sender(transport, port, rate, count, size=size, seed=seed, stamp=stamp)
    return finish_sender(proc, 60 + 3 * count / (rate if rate > 0 else 50_000))


# --- kernel socket state (/proc/net) --------------------------------------------------------------


@dataclass
class SocketState:
    """Summed over the sockets bound to one local port."""

    sockets: int = 0
    rx_queue: int = 0
    """Bytes waiting to be read."""
    tx_queue: int = 0
    drops: int = 0
    """UDP datagrams the kernel dropped (receive buffer full); 0 for TCP."""


def socket_state(protocol: str, port: int) -> SocketState:
    """What /proc/net/{udp,tcp} says about the IPv4 sockets whose local port is port."""
    state = SocketState()
    wanted = f":{port:04X}"
    try:
        rows = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
    except OSError:
        return state
    for row in rows:
        fields = row.split()
        if len(fields) < 10 or not fields[1].endswith(wanted):
            continue
        tx, rx = fields[4].split(":")
        state.sockets += 1
        state.tx_queue += int(tx, 16)
        state.rx_queue += int(rx, 16)
        if protocol == "udp" and len(fields) > 12:
            state.drops += int(fields[12])
    return state


def free_port_pair() -> int:
    """A port number free on 127.0.0.1 for both TCP and UDP right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no port free for both TCP and UDP")


def wait_drained(protocol: str, port: int, timeout: float = 30.0, poll: float = 0.01) -> float:
    """Wait until nothing waits in the kernel for the receiver on port; returns time.time() when it was so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = socket_state(protocol, port)
        if state.rx_queue == 0:
            return time.time()
        time.sleep(poll)
    return time.time()


def wait_udp_bound(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Wait until a UDP socket is bound to 127.0.0.1:port (or the process that should bind it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"receiver exited with code {proc.returncode} before binding udp {port}")
        if socket_state("udp", port).sockets:
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing bound udp port {port} within {timeout:.0f} s")


def wait_tcp_listening(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"receiver exited with code {proc.returncode} before listening on tcp {port}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on tcp port {port} within {timeout:.0f} s")


def receive_buffer(protocol: str, port: int) -> int | None:
    """The receive buffer the kernel granted the socket on port (bytes, from `ss -m`), None if unknown."""
    flag = "-ulmnH" if protocol == "udp" else "-tlmnH"
    try:
        out = subprocess.run(["ss", flag, f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    marker = out.find(",rb")
    if marker < 0:
        return None
    digits = out[marker + 3 :].split(",", 1)[0]
    return int(digits) if digits.isdigit() else None


RMEM_MAX = Path("/proc/sys/net/core/rmem_max")


@contextlib.contextmanager
def rmem_max_at_least(nbytes: int, enabled: bool = True) -> Iterator[int]:
    """Raise net.core.rmem_max to nbytes for the duration (root only) and restore it; yields the value in force.

    netobs asks for its UDP buffer with SO_RCVBUFFORCE, which passes rmem_max; other receivers ask with
    SO_RCVBUF, which is capped at rmem_max. Raising the cap gives them the same buffer.
    """
    old = int(RMEM_MAX.read_text())
    changed = False
    if enabled and old < nbytes:
        try:
            RMEM_MAX.write_text(str(nbytes))
            changed = True
        except OSError as exc:
            say(f"could not raise net.core.rmem_max to {nbytes} ({exc}); receive buffers may differ")
    try:
        yield int(RMEM_MAX.read_text())
    finally:
        if changed:
            RMEM_MAX.write_text(str(old))


# --- netobs parts ---------------------------------------------------------------------------------


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def _tree_stats(root: int) -> dict[int, list[str]]:
    """/proc/PID/stat of root and every live process below it, each read once (the fields after the name)."""
    stats: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
            stats[int(entry.name)] = fields
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return {pid: stats[pid] for pid in found if pid in stats}


def process_tree(pid: int) -> list[int]:
    """pid and every live process below it (from /proc)."""
    return list(_tree_stats(pid))


def process_kind(pid: int, root: int) -> str:
    """node (the `netobs run` process), broker (the JVM), the netobs subcommand, mp-child (a parse process or
    multiprocessing's helper), or the program's name."""
    if pid == root:
        return "node"
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    if args and args[0].endswith("java"):
        return "broker"
    if "netobs" in args and args.index("netobs") + 1 < len(args):
        return args[args.index("netobs") + 1] or "netobs"
    if any("multiprocessing" in a for a in args):
        return "mp-child"
    return Path(args[0]).name if args and args[0] else str(pid)


def rss_mb(pid: int | None) -> float | None:
    """VmRSS of pid in MB, None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Usage:
    """What one process under a root uses, from one read of its /proc/PID/stat."""

    pid: int
    kind: str
    """process_kind."""
    rss_mb: float
    """Resident set (the stat file's rss, the same count as VmRSS)."""
    cpu_seconds: float
    """User + system CPU time of its threads so far."""


_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
_TICKS = os.sysconf("SC_CLK_TCK")


def usage_tree(root: int) -> list[Usage]:
    """Usage of root and every live process below it, in pid order: one walk of /proc serves both the memory
    samplers and the CPU accounts."""
    return [
        Usage(pid, process_kind(pid, root), int(fields[21]) * _PAGE_MB, (int(fields[11]) + int(fields[12])) / _TICKS)
        for pid, fields in sorted(_tree_stats(root).items())
    ]


def cpu_by_kind(usages: Sequence[Usage]) -> dict[str, float]:
    """CPU seconds used so far by each kind of process in usages (a kind's processes summed)."""
    out: dict[str, float] = {}
    for usage in usages:
        out[usage.kind] = out.get(usage.kind, 0.0) + usage.cpu_seconds
    return out


class RssSampler:
    """RSS (MB) of every process under root, every `every` seconds on a thread: (time, {label: MB}) samples, a
    zombie's (RSS 0) left out. bench/faults.py wants one figure per kind of process (by_kind: a kind's
    processes summed); bench/pipeline.py tells processes of a kind apart by order of pid (`ingest`,
    `mp-child`, `mp-child#2`, ...) and asks for the node's total too (peak(total=True), last())."""

    def __init__(self, root: int, every: float, by_kind: bool) -> None:
        self.root = root
        self.every = every
        self.by_kind = by_kind
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()

    def take(self) -> list[Usage]:
        """One walk of the processes under root, kept as an RSS sample and returned (their CPU time too)."""
        usages = usage_tree(self.root)
        seen: dict[str, int] = {}
        sample: dict[str, float] = {}
        for usage in usages:
            if usage.rss_mb == 0:
                continue
            if self.by_kind:
                sample[usage.kind] = sample.get(usage.kind, 0.0) + usage.rss_mb
                continue
            seen[usage.kind] = seen.get(usage.kind, 0) + 1
            sample[usage.kind if seen[usage.kind] == 1 else f"{usage.kind}#{seen[usage.kind]}"] = usage.rss_mb
        if sample:
            self.samples.append((time.monotonic(), sample))
        return usages

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.take()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def window(self, start: float = 0.0, end: float = math.inf) -> list[dict[str, float]]:
        return [s for t, s in self.samples if start <= t <= end]

    def peak(self, start: float = 0.0, end: float = math.inf, total: bool = False) -> dict[str, int]:
        """Highest RSS per label over a window; total: also the highest sum over all labels of one sample."""
        peaks: dict[str, float] = {}
        for sample in self.window(start, end):
            for name, mb in sample.items():
                peaks[name] = max(peaks.get(name, 0.0), mb)
            if total:
                peaks["total"] = max(peaks.get("total", 0.0), sum(sample.values()))
        return {name: round(mb) for name, mb in sorted(peaks.items())}

    def typical(self, start: float, end: float) -> dict[str, int]:
        """Median RSS per label over a window (idle or settled size)."""
        samples = self.window(start, end)
        names = sorted({name for s in samples for name in s})
        return {name: round(median([s[name] for s in samples if name in s])) for name in names}

    def last(self) -> dict[str, int]:
        """The latest sample and its total; empty before the first."""
        if not self.samples:
            return {}
        sample = self.samples[-1][1]
        return {**{n: round(mb) for n, mb in sorted(sample.items())}, "total": round(sum(sample.values()))}


BROKER = "apache kafka (embedded, SASL/SCRAM and ACLs)"
"""What the benches run against, for their JSON line."""


@contextlib.contextmanager
def kafka(work: Path) -> Iterator[Any]:
    """Apache Kafka started as `netobs run` starts it (authentication on), its files under work, netobs's
    topics created (4 partitions) as `netobs run` creates them, since a stage's principal may not; yields the
    tests' Cluster (bootstrap, the super user, each stage's access)."""
    import asyncio

    from common.kafka_admin import ensure_topics
    from tests import brokers

    cluster = brokers.start_apache_kafka(brokers.free_port(), work / "kafka")
    try:
        asyncio.run(ensure_topics(cluster.admin, 4, 1))
        yield cluster
    finally:
        brokers.stop(cluster.proc)


def netobs_env(broker: Any, data_dir: Path, stage: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a netobs part (child or in-process config): broker and credentials (a stage's, or the
    super user's), data dir, no TLS receiver."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_KAFKA")}
    env.update(
        broker.env(stage),
        NETOBS_DATA_DIR=str(data_dir),
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_RELP_PORT="0",
        NETOBS_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class IngestProcess:
    """`netobs ingest` as a child process listening on one port (UDP and TCP); counters read at stop."""

    def __init__(self, broker: Any, data_dir: Path, port: int, log_path: Path, **extra: str) -> None:
        from tests import brokers

        self.port = port
        self.log_path = log_path
        self.counters: dict[str, dict[str, int]] = {}
        self._log_start = log_path.stat().st_size if log_path.exists() else 0
        env = netobs_env(
            broker,
            data_dir,
            "ingest",
            NETOBS_SYSLOG_UDP_PORT=str(port),
            NETOBS_SYSLOG_TCP_PORT=str(port),
            **extra,
        )
        self.proc = brokers.spawn([sys.executable, "-m", "netobs", "ingest"], log_path, cwd=REPO_ROOT, env=env)
        try:
            wait_tcp_listening(port, self.proc)  # the TCP receiver opens after the UDP one
        except BaseException:
            self.stop()
            raise

    def stop(self) -> dict[str, dict[str, int]]:
        """SIGTERM (the receiver drains to Kafka), then its final counters by transport ({} if not logged).

        They are also kept in self.counters; stopping again returns them.
        """
        from tests import brokers

        if self.proc.returncode is None:
            brokers.stop(self.proc, timeout=30)
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read().decode(errors="replace")
            for line in reversed(text.splitlines()):
                if STOPPED_MARK in line:
                    self.counters = ast.literal_eval(line.split(STOPPED_MARK, 1)[1])
                    break
        return self.counters


def in_process_worker(config: Any) -> Any:
    """Topics, migrations, then the Faust worker on its own thread (as single-node mode runs it); started."""
    import asyncio

    from common import kafka_client
    from common.kafka_admin import ensure_topics
    from netobs import node
    from netobs.worker_thread import WorkerThread
    from processors.app import make_app

    k = config.kafka
    access = kafka_client.access(k)
    asyncio.run(ensure_topics(access, k.partitions, k.replication_factor))
    node.migrate(config)
    worker = WorkerThread(
        make_app(
            access,
            k.partitions,
            config.worker,
            config.clickhouse_dsn,
            config.clickhouse.database,
            keys=node.worker_keys(config),
        )
    )
    worker.start()
    worker.started.wait(120)
    if worker.error is not None:
        raise RuntimeError(f"worker failed to start: {worker.error!r}")
    return worker


def quiet_logs(level: str = "WARNING") -> None:
    """Keep Faust/aiokafka chatter of an in-process worker off the progress output."""
    import logging

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("faust", "aiokafka", "mode", "kafka", "netobs", "processors", "httpx2", "mcp", "query_mcp"):
        logging.getLogger(name).setLevel(level)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "send":
        sys.exit(send_main(sys.argv[2:]))
    print(__doc__)
