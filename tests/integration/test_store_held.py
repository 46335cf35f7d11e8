"""Hardening issue, finding 14: a second process on the embedded store gets a message naming the holder.

chdb opens one path per process for the life of the process, and the test process has its own: the holder
and the second opener here are processes of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys\n"
    "from common.clickhouse import connect\n"
    "client = connect('chdb://' + sys.argv[1])\n"
    "client.command('SELECT 1')\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"
)
OPEN = (
    "import sys\n"
    "from common.clickhouse import StoreHeld, connect, store_holder\n"
    "print('holder before:', store_holder(__import__('pathlib').Path(sys.argv[1])))\n"
    "try:\n    connect('chdb://' + sys.argv[1])\nexcept StoreHeld as exc:\n    print(exc)\n    sys.exit(3)\n"
)


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A process holding the store at tmp_path/data/clickhouse, until the test ends."""
    store = tmp_path / "data" / "clickhouse"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env()
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    try:
        yield store, holder
    finally:
        holder.kill()
        holder.wait(30)


def test_a_second_opener_is_told_which_process_holds_the_store(held: tuple[Path, subprocess.Popen[str]]) -> None:
    store, holder = held
    result = subprocess.run(
        [sys.executable, "-c", OPEN, str(store)], capture_output=True, text=True, timeout=120, env=_env()
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert f"holder before: {holder.pid} (" in result.stdout
    assert f"held by process {holder.pid} (" in result.stdout and "one process opens it at a time" in result.stdout


def test_the_cli_says_so_instead_of_a_traceback(held: tuple[Path, subprocess.Popen[str]]) -> None:
    store, holder = held
    env = _env(NETOBS_DATA_DIR=str(store.parent))
    env.pop("NETOBS_CLICKHOUSE", None)
    result = subprocess.run(
        [sys.executable, "-m", "netobs", "mcp"], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 1
    assert f"held by process {holder.pid}" in result.stderr and "Traceback" not in result.stderr


def test_a_store_nobody_holds_has_no_holder(tmp_path: Path) -> None:
    store = tmp_path / "clickhouse"
    code = "import sys\nfrom common.clickhouse import connect\nconnect('chdb://' + sys.argv[1]).close()\n"
    subprocess.run([sys.executable, "-c", code, str(store)], check=True, timeout=120, env=_env())
    check = (
        "import sys, pathlib\nfrom common.clickhouse import store_holder\n"
        "print(store_holder(pathlib.Path(sys.argv[1])))\n"
    )
    for path in (store, tmp_path / "absent"):
        out = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True, text=True, env=_env())
        assert out.stdout.strip() == "None", out.stderr
