"""Progress of long work as people expect it: a bar redrawn in place on a terminal, plain lines now and then
when the output is a file or a pipe (logs, CI), so nothing fills a log with carriage returns.

Standard library only: the jar fetch uses it before the virtualenv exists.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
TTY_SECONDS = 0.1
"""A terminal is redrawn at most this often."""
LINE_SECONDS = 5.0
"""A file or pipe gets a line at most this often (and one at the end)."""


def _amount(n: float, unit: str) -> str:
    if unit == "B":
        return f"{n / 1e6:,.1f} MB"
    return f"{n:,.0f}{' ' + unit if unit else ''}"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def bar(label: str, done: float, total: float | None, elapsed: float, unit: str = "", note: str = "") -> str:
    """One terminal line: label, bar and percentage (when the total is known), amount, rate, time left, note."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [label]
    if total:
        share = min(1.0, done / total)
        filled = int(share * BAR_WIDTH)
        parts.append(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}")
        parts.append(f"{_amount(done, unit)} of {_amount(total, unit)}")
    else:
        parts.append(_amount(done, unit))
    parts.append(f"{_amount(rate, unit)}/s")
    if total and rate > 0 and done < total:
        parts.append(f"{_duration((total - done) / rate)} left")
    if note:
        parts.append(note)
    return "  ".join(parts)


def line(label: str, done: float, total: float | None, elapsed: float, unit: str = "", note: str = "") -> str:
    """One plain line for a log: the same facts, without the bar."""
    rate = done / elapsed if elapsed > 0 else 0.0
    amount = _amount(done, unit) + (f" of {_amount(total, unit)} ({min(1.0, done / total):.0%})" if total else "")
    tail = f", {note}" if note else ""
    return f"{label}: {amount}, {_amount(rate, unit)}/s, {_duration(elapsed)} so far{tail}"


class Progress:
    """Reports done-so-far of one piece of work to a stream; update() is cheap enough to call often."""

    def __init__(self, label: str, total: float | None = None, unit: str = "", stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._next = self.started + (TTY_SECONDS if self.tty else LINE_SECONDS)
        self._drawn = 0

    def update(self, done: float, note: str = "") -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + (TTY_SECONDS if self.tty else LINE_SECONDS)
        self._show(done, note, now)

    def finish(self, done: float, note: str = "") -> None:
        """The last report, always shown; a terminal's bar is left on its own line."""
        self._show(done, note, time.monotonic())
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, done: float, note: str, now: float) -> None:
        elapsed = now - self.started
        if self.tty:
            text = bar(self.label, done, self.total, elapsed, self.unit, note)
            self.stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
            self._drawn = len(text)
        else:
            self.stream.write(line(self.label, done, self.total, elapsed, self.unit, note) + "\n")
        self.stream.flush()
