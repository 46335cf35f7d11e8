"""Hardening issue, finding 14: a second process on the embedded store gets a message naming the holder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.clickhouse import connect, store_holder

pytestmark = pytest.mark.integration


def test_a_second_opener_is_told_which_process_holds_the_store(tmp_path: Path) -> None:
    store = tmp_path / "clickhouse"
    client = connect(f"chdb://{store}")
    client.command("SELECT 1")
    holder = store_holder(store)
    assert holder is not None and holder.startswith(f"{os.getpid()} ("), holder
    code = (
        "import sys\n"
        "from common.clickhouse import StoreHeld, connect\n"
        f"try:\n    connect('chdb://{store}')\nexcept StoreHeld as exc:\n    print(exc)\n    sys.exit(3)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 3, result.stderr[-2000:]
    assert f"held by process {os.getpid()} (" in result.stdout and "one process opens it at a time" in result.stdout
    client.close()


def test_the_cli_says_so_instead_of_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    client = connect(f"chdb://{data / 'clickhouse'}")
    client.command("SELECT 1")
    env = dict(os.environ, NETOBS_DATA_DIR=str(data), PYTHONPATH=str(Path(__file__).parents[2]))
    env.pop("NETOBS_CLICKHOUSE", None)
    result = subprocess.run(
        [sys.executable, "-m", "netobs", "mcp"], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 1
    assert f"held by process {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
    client.close()


def test_a_store_nobody_holds_has_no_holder(tmp_path: Path) -> None:
    store = tmp_path / "clickhouse"
    connect(f"chdb://{store}").close()
    assert store_holder(store) is None and store_holder(tmp_path / "absent") is None
