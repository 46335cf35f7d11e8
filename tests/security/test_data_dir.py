"""A fresh data directory is not readable by other local users, and no secret shows on a command line.

`netobs run` started under umask 022 (the usual default) as a user would start it. Before the fix, the data
directory came out 0755 with store files 0644: any local user could read syslog, audits and command
results from disk.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import pytest

from tests import brokers
from tests.integration.pipeline import node_env, wait_for, wait_port

pytestmark = pytest.mark.integration


def _open_to_others(root: Path) -> list[str]:
    """Paths under root (root included, symbolic links excluded) that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink() and path.lstat().st_mode & 0o077:
            found.append(f"{stat.filemode(path.lstat().st_mode)} {path.relative_to(root.parent)}")
    return found


def _tree(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += parents.get(found[-1], [])
    return found


def test_a_fresh_data_dir_is_private_and_secrets_stay_off_command_lines(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ports = {name: brokers.free_port() for name in ("kafka", "syslog", "mcp")}
    env = node_env(
        None,
        data,
        NETOBS_KAFKA_EMBEDDED_PORT=str(ports["kafka"]),
        NETOBS_SYSLOG_UDP_PORT=str(ports["syslog"]),
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_BATCH_MS="20",
        NETOBS_MCP_PORT=str(ports["mcp"]),
        NETOBS_WORKER_BATCH_SECONDS="0.2",
    )
    env.pop("NETOBS_CLICKHOUSE", None)
    log_path = tmp_path / "run.log"
    previous = os.umask(0o022)
    try:
        proc = brokers.spawn([sys.executable, "-m", "netobs", "run"], log_path, env=env)
    finally:
        os.umask(previous)
    try:
        wait_port(ports["mcp"], proc, log_path, timeout=150)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<13>Dec  4 10:00:00 host app: a line for the store", ("127.0.0.1", ports["syslog"]))
        wait_for(lambda: "1 syslog lines" in log_path.read_text(), 60, "the line stored")
        processes = {}
        for pid in _tree(proc.pid):
            try:
                processes[pid] = [Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")
                                  for name in ("cmdline", "environ")]  # fmt: skip
            except OSError:
                continue
    finally:
        brokers.stop(proc)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert _open_to_others(data) == []
    secrets = [p.read_text().strip() for p in (data / "kafka-credentials").iterdir()]
    assert len(secrets) == 7, "a password for netobs's super user and each of the six stages"
    logs = [log_path, *(data / "logs").iterdir()]
    for secret in secrets:
        for pid, (cmdline, environ) in processes.items():
            assert secret not in cmdline, f"a broker password on the command line of {pid}"
            assert secret not in environ, f"a broker password in the environment of {pid} (not its file's path)"
        assert all(secret not in p.read_text(errors="replace") for p in logs), "a broker password in a log"
