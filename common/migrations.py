"""Idempotent schema migrations: numbered SQL files in schemas/sql, applied once each, in order.

Run by `netobs migrate` and at every start. The same SQL serves chdb and a ClickHouse server.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from schemas.tables import SCHEMA_MIGRATIONS

log = logging.getLogger(__name__)


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped, in order."""
    found = []
    for entry in resources.files("schemas").joinpath("sql").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """Split a migration into statements; comments are dropped, semicolons end statements."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply(client: Any, database: str, retention_days: int) -> list[str]:
    """Create the database and apply the migrations not applied yet; returns the names applied."""
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.{SCHEMA_MIGRATIONS} "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query(f"SELECT version FROM {database}.{SCHEMA_MIGRATIONS}").result_rows}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        for statement in statements(sql.format(db=database, retention_days=int(retention_days))):
            client.command(statement)
        client.insert(f"{database}.{SCHEMA_MIGRATIONS}", [[version, name]], column_names=["version", "name"])
        log.info("applied migration %s", name)
        applied.append(name)
    return applied
