"""The running MCP service's endpoint file: DATA_DIR/mcp_endpoint, written (mode 0600) once the HTTP service
listens and removed when it stops, so `netobs mcp --stdio` relays to the port the node actually bound (which
may not be the configured one: port 0, or a setting the relay's environment does not share) with its token."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

ENDPOINT_FILE = "mcp_endpoint"


def local_url(bind: str, port: int, tls: bool) -> str:
    """The URL a process on this machine reaches the service at: a wildcard bind is reached on loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(bind, bind)
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}/mcp"


def write(data_dir: Path, url: str, token: str) -> Path:
    """Record the endpoint (atomically: a reader sees the old file or the new one, never half of it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ENDPOINT_FILE
    tmp = path.with_name(f".{ENDPOINT_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, f)
    os.replace(tmp, path)
    return path


def remove(data_dir: Path, url: str) -> None:
    """Remove the file if it still names this service (another one may have started since)."""
    found = read(data_dir)
    if found is not None and found[0] == url:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / ENDPOINT_FILE).unlink()


def read(data_dir: Path) -> tuple[str, str] | None:
    """(url, token) of the running service, or None when no service has left a readable file."""
    try:
        data = json.loads((data_dir / ENDPOINT_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not isinstance(data.get("token"), str):
        return None
    return data["url"], data["token"]
