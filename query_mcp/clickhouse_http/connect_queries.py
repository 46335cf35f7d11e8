"""What ClickHouse's clients ask when they connect, allowed by exact text because it reads the system database
the analysts' SQL may not touch. Nothing else of system.* is answered.

clickhouse-connect (1.x, orchestration.init_sequence) reads the server's settings to learn which it may change;
in the read-only session it learns that none are writable, so it sends none.
"""

from __future__ import annotations

CONNECT_QUERIES = frozenset(
    {
        "SELECT name, value, readonly FROM system.settings LIMIT 10000",
    }
)


def connect_query(sql: str) -> str | None:
    """The statement to run when sql is one of the connect queries (whitespace aside), else None."""
    statement = " ".join(sql.split()).rstrip(";").strip()
    return statement if statement in CONNECT_QUERIES else None
