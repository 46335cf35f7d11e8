"""One way to reach ClickHouse, embedded (chdb:///path) or a server (http(s)://host:8123), for every stage."""

from __future__ import annotations

from typing import Any

import clickhouse_connect


def connect(dsn: str, **options: Any) -> Any:
    """A client on dsn; no generated session id on a server, so clients never share server state."""
    if dsn.startswith("chdb://"):
        return clickhouse_connect.get_client(dsn=dsn, **options)
    return clickhouse_connect.get_client(dsn=dsn, autogenerate_session_id=False, **options)
