"""One way to reach ClickHouse, embedded (chdb:///path) or a server (http(s)://host:8123), for every stage."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from common.config import ClickHouseConfig

# chdb hosts one engine per process, started by the first connection with that connection's server settings
# (later ones cannot change them): so the settings are the process's, fixed once by configure_engine.
_engine: dict[str, int] = {}


class StoreHeld(RuntimeError):
    """The embedded store is open in another process: chdb lets one process open a path at a time."""


def connect(dsn: str, **options: Any) -> Any:
    """A client on dsn; no generated session id on a server, so clients never share server state."""
    import clickhouse_connect  # here, so that `netobs --help` and the CLI's error handling stay quick

    if dsn.startswith("chdb://"):
        try:
            return clickhouse_connect.get_client(dsn=dsn, chdb_options=dict(_engine) or None, **options)
        except Exception as exc:
            holder = store_holder(Path(dsn.removeprefix("chdb://")))
            if holder is None:
                raise
            raise StoreHeld(
                f"the embedded ClickHouse at {dsn.removeprefix('chdb://')} is held by process {holder}; one process "
                "opens it at a time: stop that process, or ask the node that holds it (its MCP endpoint)"
            ) from exc
    return clickhouse_connect.get_client(dsn=dsn, autogenerate_session_id=False, **options)


def engine_settings(section: ClickHouseConfig) -> dict[str, int]:
    """The embedded engine's server settings for section: its memory ceiling, and cache_bytes shared by the
    caches that otherwise grow with the parts read (mark cache half, primary index and skip-index marks a
    quarter each)."""
    return {
        "max_server_memory_usage": section.max_memory_bytes,
        "mark_cache_size": section.cache_bytes // 2,
        "primary_index_cache_size": section.cache_bytes // 4,
        "index_mark_cache_size": section.cache_bytes // 4,
    }


def configure_engine(section: ClickHouseConfig) -> None:
    """Start this process's embedded engine, whenever a chdb:// connection first opens it, with section's
    limits. Call before the first connect (netobs does, right after loading its configuration)."""
    _engine.clear()
    _engine.update(engine_settings(section))


def store_holder(path: Path) -> str | None:
    """Which process holds the store at path ("PID (command line)"), or None when no other process does.

    ClickHouse keeps an exclusive flock on <path>/status while it runs and writes its PID there; chdb's own
    error for a held store says only "Error initializing EmbeddedServer".
    """
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 4096).decode(errors="replace")
        pid = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("PID:")), "?")
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = ""
        return f"{pid} ({command.strip()})" if command.strip() else pid
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
