"""Offline mining of a file: line numbers, final template ids in the CSV, the summary, errors."""

import csv
import io
from pathlib import Path

import pytest

from common import progress
from processors.syslog import patterns_file
from processors.syslog.miner import template_id
from processors.syslog.patterns_file import mine_lines, run

LINES = [
    b"<38>Jan 15 10:00:00 host1 sshd[123]: Accepted password for alice from 10.0.0.1 port 22 ssh2\n",
    b"<38>1 2025-01-15T10:00:01Z host2 sshd 99 - - Accepted password for bob from 10.0.0.2 port 23 ssh2\n",
    b"\n",
    b'plain text, with "quotes" and commas, 42 of them\r\n',
    b"<189>123: *Mar  1 00:00:00.000: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down\n",
    b"<189>124: *Mar  1 00:00:01.000: %LINK-3-UPDOWN: Interface Gi0/2, changed state to up\n",
    b'plain text, with "quotes" and commas, 43 of them\n',
    b"\xff\xfe not utf-8 \x80\n",
]


def test_mine_lines_numbers_lines_and_skips_blank_ones() -> None:
    rows = list(mine_lines(LINES))
    assert [n for n, _, _ in rows] == [1, 2, 4, 5, 6, 7, 8]
    by_line = {n: (tid, text) for n, tid, text in rows}
    # headers are parsed off: two senders, two formats, one template
    assert by_line[1][1] == "sshd Accepted password for alice from <IP> port <NUM> ssh2"
    assert by_line[2][1] == "sshd Accepted password for <*> from <IP> port <NUM> ssh2"
    assert by_line[4] == by_line[7]
    assert by_line[4][1] == 'plain text, with "quotes" and commas, <NUM> of them'
    assert by_line[6][1] == "LINK Interface Gi0/<NUM>, changed state to <*>"
    assert all(tid == template_id(text) for _, tid, text in rows)


def _run(tmp_path: Path, lines: list[bytes], progress: bool = False) -> tuple[int, list[list[str]], str]:
    path = tmp_path / "log.txt"
    path.write_bytes(b"".join(lines))
    out, summary = io.StringIO(), io.StringIO()
    code = run(str(path), out, summary, progress)
    return code, list(csv.reader(io.StringIO(out.getvalue()))), summary.getvalue()


def test_csv_round_trips_with_final_templates(tmp_path: Path) -> None:
    code, rows, summary = _run(tmp_path, LINES)
    assert code == 0
    assert rows[0] == ["line", "template_id", "template"]
    body = {int(line): (int(tid), text) for line, tid, text in rows[1:]}
    assert sorted(body) == [1, 2, 4, 5, 6, 7, 8]
    accepted = "sshd Accepted password for <*> from <IP> port <NUM> ssh2"
    assert body[1] == body[2] == (template_id(accepted), accepted)  # line 1 gets its cluster's final template
    assert body[4][1] == 'plain text, with "quotes" and commas, <NUM> of them'  # quoting survives csv
    assert body[5] == body[6]
    assert body[8][1] == "<BIN> not utf-8 <BIN>"  # bytes that were not UTF-8 are masked

    table = summary.splitlines()
    assert table[0].split() == ["count", "template_id", "template"]
    rows = [line.split(None, 2) for line in table[1:-1]]
    assert [int(count) for count, _, _ in rows] == [2, 2, 2, 1]
    assert [int(tid) for _, tid, _ in rows[:3]] == sorted(int(tid) for _, tid, _ in rows[:3])  # ties by id
    assert [str(template_id(accepted)), accepted] in [row[1:] for row in rows]
    assert table[-1] == "7 lines, 4 templates"


def test_stdin_and_progress(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a terminal: plain lines (no bar, no carriage return), here one every 3 lines and one at the end."""
    monkeypatch.setattr(patterns_file, "UPDATE_LINES", 3)
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"".join(LINES))))
    out, summary = io.StringIO(), io.StringIO()
    assert run("-", out, summary, progress=True) == 0
    assert len(list(csv.reader(io.StringIO(out.getvalue())))) == 8
    err = capsys.readouterr().err
    size = len(b"".join(LINES))
    assert "6 lines, 3 templates" in err and "8 lines read, 4 templates" in err and "done" in err
    assert f"patterns: {size / 1e6:,.1f} MB, " in err, "stdin has no size: no share, no time left"
    assert "\r" not in err and "[" not in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, summary = io.StringIO(), io.StringIO()
    assert run(str(tmp_path / "nope.log"), out, summary, progress=False) == 2
    assert "nope.log" in capsys.readouterr().err
    assert out.getvalue() == ""


def test_empty_file(tmp_path: Path) -> None:
    code, rows, summary = _run(tmp_path, [])
    assert code == 0
    assert rows == [["line", "template_id", "template"]]
    assert summary.splitlines()[-1] == "0 lines, 0 templates"
