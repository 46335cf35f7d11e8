"""Where the syslog miners live: in the worker's own process, or in parse processes beside it.

Parsing and mining take most of a syslog line's cost, and one Python process uses one core; on a single
node only one process may open the embedded ClickHouse. So the worker can hand each batch to parse
processes (worker.parse_processes), each owning the miners of the partitions p with p % processes == its
index, and insert the Native blocks they send back: the writer stays one process, the parsing uses every core.

Both kinds answer the same five calls (Mining). A parse process that dies takes its miners with it: the pool
starts a new one and raises ParseProcessLost naming the partitions whose miners are gone, so the caller
restores them from their last snapshot.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol, TypeVar

from processors.native_format import ColumnTypes
from processors.syslog import batch
from processors.syslog.batch import Mined, Work
from processors.syslog.miner import Miner

log = logging.getLogger(__name__)

_Item = TypeVar("_Item")

_PAGE = os.sysconf("SC_PAGE_SIZE")


class ParseProcessLost(RuntimeError):
    """A parse process died or failed; the miners of partitions are gone and must be restored."""

    def __init__(self, message: str, partitions: set[int]) -> None:
        super().__init__(message)
        self.partitions = partitions


class Mining(Protocol):
    """The miners of the partitions a worker holds, wherever they run."""

    def load(self, partition: int, snapshot: bytes | None) -> int:
        """Start partition's miner from snapshot (a new one for None); returns its cluster count."""
        ...

    def start(self, work: Sequence[Work]) -> None:
        """Begin to parse and mine work, in order per partition (every partition must have been loaded);
        parse processes work on it while the caller inserts what finish() gave before."""
        ...

    def finish(self) -> Mined:
        """The outcome of the work start() was given; start() and finish() alternate."""
        ...

    def snapshots(self, partitions: Iterable[int]) -> dict[int, bytes]:
        """The saved state of each loaded partition's miner."""
        ...

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions' miners."""
        ...

    def close(self) -> None:
        """Stop what runs the miners (the miners are gone; snapshot first)."""
        ...

    def memory(self) -> dict[int, int]:
        """Resident bytes of each parse process running, by index ({} when the miners run in this process)."""
        ...


class LocalMiners:
    """The miners in this process: the worker's own with parse_processes = 0, and each parse process's."""

    def __init__(self, types: ColumnTypes) -> None:
        self._types = types
        self._miners: dict[int, Miner] = {}
        self._work: Sequence[Work] = ()

    def load(self, partition: int, snapshot: bytes | None) -> int:
        miner = Miner.restore(snapshot) if snapshot is not None else Miner()
        self._miners[partition] = miner
        return len(miner)

    def mine(self, work: Sequence[Work]) -> Mined:
        """What a parse process does with its share (start + finish in one call)."""
        return batch.mine(work, self._miners, self._types)

    def start(self, work: Sequence[Work]) -> None:
        self._work = work

    def finish(self) -> Mined:
        work, self._work = self._work, ()
        return self.mine(work)

    def snapshots(self, partitions: Iterable[int]) -> dict[int, bytes]:
        return {p: self._miners[p].snapshot() for p in partitions if p in self._miners}

    def drop(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self._miners.pop(p, None)

    def close(self) -> None:
        self._miners.clear()

    def memory(self) -> dict[int, int]:
        return {}


def _serve(conn: Connection, types: ColumnTypes) -> None:
    """A parse process: answers the pool's calls until its pipe closes (the worker stopped or died).
    Signals to the process group are the worker's to handle: it closes the pipe when it is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    miners = LocalMiners(types)
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", getattr(miners, name)(*args))
        except Exception as exc:  # reported to the worker, which restarts this process
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class _Process:
    """One parse process and the worker's end of its pipe."""

    def __init__(self, index: int, types: ColumnTypes) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, types), name=f"netobs-parse-{index}", daemon=True)
        self.process.start()
        child.close()
        self.partitions: set[int] = set()

    def send(self, name: str, *args: Any) -> None:
        self.conn.send((name, args))

    def receive(self) -> Any:
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(value)
        return value

    def stop(self) -> None:
        self.conn.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class ParsePool:
    """processes parse processes, started on first use; partition p's miner lives in process p % processes."""

    def __init__(self, processes: int, types: ColumnTypes) -> None:
        if processes < 1:
            raise ValueError("a parse pool needs at least one process")
        self._types = types
        self._slots: list[_Process | None] = [None] * processes
        self._pending: tuple[dict[int, _Process], dict[int, str]] = ({}, {})

    def _process(self, partition: int) -> tuple[int, _Process]:
        index = partition % len(self._slots)
        process = self._slots[index]
        if process is None:
            process = self._slots[index] = _Process(index, self._types)
        return index, process

    def _call(self, calls: dict[int, tuple[str, tuple[Any, ...]]]) -> dict[int, Any]:
        """Send each slot its call, then gather the replies: the processes work at the same time."""
        return self._receive(*self._send(calls))

    def _send(self, calls: dict[int, tuple[str, tuple[Any, ...]]]) -> tuple[dict[int, _Process], dict[int, str]]:
        sent: dict[int, _Process] = {}
        lost: dict[int, str] = {}
        for index, (name, args) in calls.items():
            process = self._slots[index]
            assert process is not None
            try:
                process.send(name, *args)
                sent[index] = process
            except (OSError, ValueError) as exc:
                lost[index] = f"{type(exc).__name__}: {exc}"
        return sent, lost

    def _receive(self, sent: dict[int, _Process], lost: dict[int, str]) -> dict[int, Any]:
        """Every reply of sent (all are read, so no pipe is left out of step), then ParseProcessLost if any
        process failed: it is stopped, and the next call starts a new one."""
        replies: dict[int, Any] = {}
        for index, process in sent.items():
            try:
                replies[index] = process.receive()
            except (EOFError, OSError, RuntimeError) as exc:
                lost[index] = f"{type(exc).__name__}: {exc}" if str(exc) else "it exited"
        if lost:
            gone: set[int] = set()
            for index, why in lost.items():
                dead = self._slots[index]
                assert dead is not None
                gone |= dead.partitions
                log.error(
                    "parse process %d lost (%s); partitions %s restart from their snapshots",
                    index,
                    why,
                    sorted(dead.partitions),
                )
                dead.stop()
                self._slots[index] = None
            raise ParseProcessLost(f"parse processes {sorted(lost)} lost", gone)
        return replies

    def load(self, partition: int, snapshot: bytes | None) -> int:
        index, process = self._process(partition)
        clusters = int(self._call({index: ("load", (partition, snapshot))})[index])
        process.partitions.add(partition)
        return clusters

    def start(self, work: Sequence[Work]) -> None:
        shares = self._by_slot(work, lambda item: item[0][0])
        self._pending = self._send({index: ("mine", (share,)) for index, share in shares.items()})

    def finish(self) -> Mined:
        pending, self._pending = self._pending, ({}, {})
        replies = self._receive(*pending)
        out = Mined()
        for index in sorted(replies):
            out.extend(replies[index])
        return out

    def snapshots(self, partitions: Iterable[int]) -> dict[int, bytes]:
        wanted = self._by_slot(partitions, int)
        out: dict[int, bytes] = {}
        for reply in self._call({index: ("snapshots", (ps,)) for index, ps in wanted.items()}).values():
            out.update(reply)
        return out

    def drop(self, partitions: Iterable[int]) -> None:
        wanted = self._by_slot(partitions, int)
        for index, ps in wanted.items():
            process = self._slots[index]
            assert process is not None  # _by_slot started it
            process.partitions.difference_update(ps)
        self._call({index: ("drop", (ps,)) for index, ps in wanted.items()})

    def _by_slot(self, items: Iterable[_Item], partition_of: Callable[[_Item], int]) -> dict[int, list[_Item]]:
        """items grouped by the slot of the process that holds their partition (started if need be)."""
        grouped: dict[int, list[_Item]] = {}
        for item in items:
            index, _ = self._process(partition_of(item))
            grouped.setdefault(index, []).append(item)
        return grouped

    def close(self) -> None:
        for index, process in enumerate(self._slots):
            if process is not None:
                process.stop()
                self._slots[index] = None

    def memory(self) -> dict[int, int]:
        return {i: _resident_bytes(p.process.pid) for i, p in enumerate(self._slots) if p is not None}


def _resident_bytes(pid: int | None) -> int:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * _PAGE


def mining(processes: int, types: ColumnTypes) -> Mining:
    """The miners of a worker: in its own process for processes = 0, else in that many parse processes."""
    return LocalMiners(types) if processes == 0 else ParsePool(processes, types)
