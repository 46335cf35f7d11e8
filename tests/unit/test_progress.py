"""Progress: a bar redrawn in place on a terminal, plain lines elsewhere; the lines it draws."""

from __future__ import annotations

import io

import pytest

from common import progress
from common.progress import Progress, bar, line


def test_bar_shows_share_amount_rate_and_time_left():
    text = bar("patterns", 25e6, 100e6, 5.0, "B", "1,000 lines")
    assert text.startswith("patterns  [#######.......................]  25%  25.0 MB of 100.0 MB  5.0 MB/s  15s left")
    assert text.endswith("1,000 lines")
    assert "left" not in bar("jars", 46, 46, 3.0, "jars")
    assert bar("patterns", 10, None, 2.0, "lines") == "patterns  10 lines  5 lines/s"


def test_line_has_no_bar():
    assert line("jars", 23, 46, 61.0, "jars") == "jars: 23 jars of 46 jars (50%), 0 jars/s, 1m01s so far"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_redraws_in_place_and_ends_its_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(progress, "TTY_SECONDS", 0.0)
    screen = Terminal()
    meter = Progress("copy", 10, "files", screen)
    meter.update(5)
    meter.finish(10)
    out = screen.getvalue()
    assert out.count("\r") == 2 and out.endswith("\n") and out.count("\n") == 1
    assert "100%" in out.rsplit("\r", 1)[1]


def test_a_pipe_gets_lines_no_more_often_than_line_seconds(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(progress, "LINE_SECONDS", 3600.0)
    pipe = io.StringIO()
    meter = Progress("copy", 10, "files", pipe)
    for done in range(10):
        meter.update(done)  # within an hour of the start: nothing yet
    meter.finish(10)
    assert pipe.getvalue().count("\n") == 1 and "\r" not in pipe.getvalue()
    assert pipe.getvalue().startswith("copy: 10 files of 10 files (100%)")
