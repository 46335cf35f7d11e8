"""The start banner lands in supervisor and container logs: the admin token appears there once, when created."""

from __future__ import annotations

from pathlib import Path

from netobs import config as netobs_config
from netobs.node import _token_line

TOKEN = "s3cr3t-token-value-0123456789abcdef"


def _config(tmp_path: Path, **env: str) -> netobs_config.Config:
    return netobs_config.load(environ={"NETOBS_DATA_DIR": str(tmp_path), **env})


def test_new_token_is_shown_once_with_where_it_is_kept(tmp_path: Path) -> None:
    line = _token_line(_config(tmp_path), TOKEN, fresh=True)
    assert TOKEN in line and str(tmp_path.resolve() / "mcp_token") in line


def test_existing_token_shows_only_a_prefix_and_its_file(tmp_path: Path) -> None:
    line = _token_line(_config(tmp_path), TOKEN, fresh=False)
    assert TOKEN not in line and TOKEN[4:12] not in line
    assert line.startswith(TOKEN[:4]) and str(tmp_path.resolve() / "mcp_token") in line


def test_configured_token_is_never_shown(tmp_path: Path) -> None:
    config = _config(tmp_path, NETOBS_MCP_TOKEN=TOKEN)
    for fresh in (True, False):
        line = _token_line(config, TOKEN, fresh=fresh)
        assert TOKEN[:4] not in line and "configured" in line
