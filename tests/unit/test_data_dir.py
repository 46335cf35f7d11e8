"""netobs.data_dir: a data directory other local users cannot read, whatever umask it was started under."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from netobs import data_dir


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_new_data_dir_is_0700_and_what_is_written_after_is_private(tmp_path: Path) -> None:
    os.umask(0o022)
    root = tmp_path / "fresh" / "data"
    data_dir.prepare(root)
    assert _mode(root) == 0o700
    (root / "store").mkdir()
    (root / "store" / "part.bin").write_bytes(b"syslog")
    assert _mode(root / "store") == 0o700
    assert _mode(root / "store" / "part.bin") == 0o600


def test_an_open_data_dir_is_tightened_and_the_log_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "data"
    (root / "clickhouse").mkdir(parents=True)
    (root / "clickhouse" / "rows").write_text("x")
    (root / "mcp_token").write_text("secret")
    os.chmod(root, 0o755)
    os.chmod(root / "clickhouse", 0o775)
    os.chmod(root / "clickhouse" / "rows", 0o644)
    os.chmod(root / "mcp_token", 0o666)
    outside = tmp_path / "outside"
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    (root / "link").symlink_to(outside)
    with caplog.at_level(logging.WARNING):
        data_dir.prepare(root)
    assert [_mode(p) for p in (root, root / "clickhouse", root / "clickhouse" / "rows", root / "mcp_token")] == [
        0o700,
        0o700,
        0o600,
        0o600,
    ]
    assert _mode(outside) == 0o644, "a symbolic link's target is left alone"
    assert "readable by other users" in caplog.text and "4 path(s)" in caplog.text


def test_a_private_data_dir_is_left_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir.prepare(tmp_path / "data")
    with caplog.at_level(logging.WARNING):
        data_dir.prepare(tmp_path / "data")
    assert caplog.text == ""
