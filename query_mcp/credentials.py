"""The MCP bearer token: the configured one, or one generated on first start and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "mcp_token"


def load_or_create_token(configured: str, data_dir: Path) -> str:
    """Configured token wins; otherwise read data_dir/mcp_token, creating it (mode 0600) when absent."""
    if configured:
        return configured
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if len(token) >= 16:
            return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
