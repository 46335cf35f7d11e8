"""Where credentials come from: the admin token (configured, or generated on first start and kept in the
data dir), named tokens (a TOML file of digests, reloaded when it changes) and JWTs."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from common.config import McpConfig
from query_mcp.auth import tokens
from query_mcp.auth.jwt import JwtVerifier, looks_like_jwt
from query_mcp.auth.scopes import Principal

TOKEN_FILE = "mcp_token"
TOKENS_FILE = "mcp_tokens.toml"
RELOAD_SECONDS = 1.0


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


def tokens_path(mcp: McpConfig, data_dir: Path) -> Path:
    """The named-tokens file: configured, or mcp_tokens.toml in the data dir."""
    return Path(mcp.tokens_file) if mcp.tokens_file else data_dir / TOKENS_FILE


class Authenticator:
    """Callable(presented credential) -> (principal, reason); named tokens reload when their file changes."""

    def __init__(self, mcp: McpConfig, data_dir: Path) -> None:
        self._admin = load_or_create_token(mcp.token, data_dir)
        self._path = tokens_path(mcp, data_dir)
        self._jwt = (
            JwtVerifier(mcp.jwt_issuer, mcp.jwt_audience, mcp.jwt_secret_file, mcp.jwt_jwks_file)
            if mcp.jwt_secret_file or mcp.jwt_jwks_file
            else None
        )
        self._stamp: float | None = None
        self._checked = 0.0
        self._book = tokens.TokenBook(self._admin, [])
        self._reload()

    @property
    def admin_token(self) -> str:
        return self._admin

    def __call__(self, presented: str) -> tuple[Principal | None, str]:
        if self._jwt is not None and looks_like_jwt(presented):
            return self._jwt.verify(presented)
        if time.monotonic() - self._checked >= RELOAD_SECONDS:
            self._reload()
        return self._book.verify(presented)

    def _reload(self) -> None:
        self._checked = time.monotonic()
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp or self._stamp is None:
            self._book = tokens.TokenBook(self._admin, tokens.load(self._path) if stamp is not None else [])
            self._stamp = stamp
