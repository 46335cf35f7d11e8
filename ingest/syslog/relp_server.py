"""The RELP receiver: answers each syslog frame only after the broker acknowledged the record with its line.

So a line the sender saw answered is in Kafka; a line it did not (the receiver died, the broker failed) is
sent again by the sender. That is at-least-once: lines the broker took whose answer never left are
stored twice. Per connection a reader parses frames and hands their lines to DeliveryAcks, and an answerer
writes the answers in order as the records settle. At most WINDOW frames wait for an answer per
connection; beyond that the reader stops reading, so memory stays bounded whatever the sender does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from ingest.counters import TransportCounters
from ingest.syslog import relp
from ingest.syslog.acks import DeliveryAcks
from ingest.syslog.tcp import plain_source

log = logging.getLogger("netobs.ingest")

WINDOW = 1024
"""Frames of one connection waiting for their answer; rsyslog's omrelp keeps 128 unanswered by default."""
READ_BYTES = 256 * 1024

Answer = tuple[int, "asyncio.Future[None] | None", bytes, bool]
"""(txnr, the delivery to wait for or None, the answer if there is none, whether the session ends after it)."""


class RelpReceiver:
    """One listening socket and its RELP sessions, at most max_connections at a time."""

    def __init__(
        self,
        acks: DeliveryAcks,
        room: Callable[[], Awaitable[None]],
        counters: TransportCounters,
        max_line: int,
        max_connections: int,
        window: int = WINDOW,
    ) -> None:
        self._acks = acks
        self._room = room
        self._counters = counters
        self._max_line = max_line
        self._max_connections = max_connections
        self._window = window
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def start(self, bind: str, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, bind, port, limit=READ_BYTES, backlog=1024)

    async def stop(self, timeout: float) -> None:
        """Stop reading; answer what the broker acknowledges within timeout, then serverclose each session.

        Frames left unanswered are sent again by their senders on reconnect.
        """
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counters = self._counters
        if len(self._connections) >= self._max_connections:
            counters.rejected += 1
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        counters.connections += 1
        source = plain_source(writer.get_extra_info("peername"))
        answers: asyncio.Queue[Answer] = asyncio.Queue()
        window = asyncio.Semaphore(self._window)
        answerer = asyncio.create_task(_answer(answers, window, writer), name="relp-answerer")
        session = _Session(source, self._acks, counters, answers, window, self._max_line)
        ended = False
        try:
            ended = await session.run(reader, self._room)
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.debug("relp connection from %s ended: %r", source, exc)
            answerer.cancel()
        except asyncio.CancelledError:
            if not answerer.done():
                answers.put_nowait((0, None, relp.SERVER_CLOSE, True))
            ended = True
        finally:
            try:
                if ended:
                    await answerer
                else:
                    answerer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await answerer
            except (OSError, asyncio.CancelledError) as exc:
                log.debug("relp answers to %s not all written: %r", source, exc)
            finally:
                answerer.cancel()
                counters.connections -= 1
                self._connections.discard(task)
                writer.close()


class _Session:
    """The reading half of one connection: frames in, lines to the broker, answers queued in order."""

    def __init__(
        self,
        source: str,
        acks: DeliveryAcks,
        counters: TransportCounters,
        answers: asyncio.Queue[Answer],
        window: asyncio.Semaphore,
        max_line: int,
    ) -> None:
        self.source = source
        self.acks = acks
        self.counters = counters
        self.answers = answers
        self.window = window
        self.frames = relp.FrameReader(max_line)
        self.opened = False

    async def run(self, reader: asyncio.StreamReader, room: Callable[[], Awaitable[None]]) -> bool:
        """Read until the sender closes (False: nobody to answer) or the session ends with an answer (True)."""
        while True:
            await room()
            data = await reader.read(READ_BYTES)
            if not data:
                return False
            received = time.time_ns()
            try:
                frames = self.frames.feed(data)
            except relp.RelpError as exc:
                self.counters.framing += 1
                log.warning("relp from %s: %s; closing the session (unanswered frames come again)", self.source, exc)
                await self._queue(0, None, relp.SERVER_CLOSE, end=True)
                return True
            txnrs: list[int] = []
            lines: list[bytes] = []
            for frame in frames:
                if frame.command == "syslog" and self.opened:
                    txnrs.append(frame.txnr)
                    lines.append(frame.data[:-1] if frame.data.endswith(b"\n") else frame.data)
                    continue
                await self._submit(txnrs, lines, received)
                txnrs, lines = [], []
                if await self._control(frame):
                    return True
            await self._submit(txnrs, lines, received)

    async def _submit(self, txnrs: list[int], lines: list[bytes], received: int) -> None:
        """Send the lines on their way now, then queue their answers (waiting for room in the window)."""
        if not lines:
            return
        self.counters.received += len(lines)
        self.counters.bytes += sum(map(len, lines))
        delivery = self.acks.add(self.source, [received] * len(lines), lines)
        delivery.add_done_callback(_retrieve)
        self.acks.flush()
        for txnr in txnrs:
            await self._queue(txnr, delivery, b"")

    async def _control(self, frame: relp.Frame) -> bool:
        """Answer a frame that is not a line of an open session; True when the session ends."""
        txnr, command = frame.txnr, frame.command
        if command == "open":
            refusal = "the session is already open" if self.opened else relp.open_refusal(frame.data)
            self.opened = refusal is None
            await self._queue(txnr, None, relp.open_accepted(txnr) if refusal is None else relp.refused(txnr, refusal))
            return False
        if command == "close":
            await self._queue(txnr, None, relp.ok(txnr), end=True)
            return True
        if command == "rsp":
            return False  # the sender acknowledging a serverclose
        reason = "open the session first" if command == "syslog" else f"unknown command {command!r}"
        await self._queue(txnr, None, relp.refused(txnr, reason))
        return False

    async def _queue(self, txnr: int, delivery: asyncio.Future[None] | None, answer: bytes, end: bool = False) -> None:
        await self.window.acquire()
        self.answers.put_nowait((txnr, delivery, answer, end))


async def _answer(answers: asyncio.Queue[Answer], window: asyncio.Semaphore, writer: asyncio.StreamWriter) -> None:
    """Write the answers in the order the frames came, each once its delivery settled."""
    while True:
        txnr, delivery, answer, end = await answers.get()
        if delivery is not None:
            try:
                await delivery
                answer = relp.ok(txnr)
            except Exception as exc:
                answer = relp.refused(txnr, f"not stored, send again: {exc}")
        writer.write(answer)
        window.release()
        if end:
            await writer.drain()
            return
        if answers.empty():
            await writer.drain()


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a delivery's error as seen: a session that ended before answering never awaits it."""
    if not future.cancelled():
        future.exception()
