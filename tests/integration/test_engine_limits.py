"""Hardening issue, finding 13: the embedded engine runs with a memory ceiling and bounded caches.

Before, chdb started with ClickHouse's defaults: max_server_memory_usage at 90 % of the machine's RAM and mark,
primary-index and skip-index mark caches of 5 GiB each, so nothing bounded the node process. The engine is
per process and takes its server settings from the first connection, so each case runs in a process of its
own, configured as every netobs command configures itself (load the configuration, then configure_engine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
READ_BACK = (
    "import json, os\n"
    "from common.clickhouse import configure_engine, connect\n"
    "from netobs import config\n"
    "loaded = config.load(None, dict(os.environ))\n"
    "configure_engine(loaded.clickhouse)\n"
    "client = connect(loaded.clickhouse_dsn)\n"
    "rows = client.query(\"SELECT name, value FROM system.server_settings WHERE name IN ('max_server_memory_usage', "
    "'mark_cache_size', 'primary_index_cache_size', 'index_mark_cache_size')\").result_rows\n"
    "print(json.dumps({name: int(value) for name, value in rows}))\n"
)
MIB = 1024 * 1024


def _engine_settings(data_dir: Path, **env: str) -> dict[str, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_")}
    environ.update(PYTHONPATH=str(ROOT), NETOBS_DATA_DIR=str(data_dir), **env)
    result = subprocess.run(
        [sys.executable, "-c", READ_BACK], capture_output=True, text=True, timeout=120, env=environ, cwd=data_dir
    )
    assert result.returncode == 0, result.stderr[-2000:]
    settings: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return settings


def test_the_engine_starts_with_the_configured_ceiling_and_cache_sizes(tmp_path: Path) -> None:
    settings = _engine_settings(
        tmp_path, NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES=str(768 * MIB), NETOBS_CLICKHOUSE_CACHE_BYTES=str(64 * MIB)
    )
    assert settings == {
        "max_server_memory_usage": 768 * MIB,
        "mark_cache_size": 32 * MIB,
        "primary_index_cache_size": 16 * MIB,
        "index_mark_cache_size": 16 * MIB,
    }


def test_by_default_the_engine_is_bounded_not_sized_to_the_machine(tmp_path: Path) -> None:
    settings = _engine_settings(tmp_path)
    assert settings["max_server_memory_usage"] == 2048 * MIB
    assert settings["mark_cache_size"] + settings["primary_index_cache_size"] + settings["index_mark_cache_size"] == (
        256 * MIB
    )
