"""Log format shared by every netobs command: time, level, component, message."""

import logging
import sys


def setup(level: str) -> None:
    """Log to stderr, so stdout stays free for data (CSV, MCP over stdio)."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("aiokafka", "faust", "mode", "httpx", "httpx2", "mcp", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
