"""Log format shared by every netobs command: time, level, component, message; services also keep their
warnings and errors in the data directory, where `netobs status` finds the last ones."""

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ERROR_LOG_BYTES = 1_000_000


def setup(level: str) -> None:
    """Log to stderr, so stdout stays free for data (CSV, MCP over stdio)."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format=FORMAT, force=True)
    for noisy in ("aiokafka", "faust", "mode", "httpx", "httpx2", "mcp", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def keep_errors(data_dir: Path, service: str) -> None:
    """Also write this service's warnings and errors to data_dir/logs/errors-<service>.log (one file per
    service: processes never share a rotating file), kept to about a megabyte."""
    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        folder / f"errors-{service}.log", maxBytes=ERROR_LOG_BYTES, backupCount=1
    )
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.getLogger().addHandler(handler)


def error_logs(data_dir: Path) -> list[Path]:
    """The error logs keep_errors writes (current files only)."""
    return sorted((data_dir / "logs").glob("errors-*.log"))
