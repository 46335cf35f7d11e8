"""get_server_certificate_list, get_resource_monitor_list and get_mib_tree: TWSNMP FK's field names."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import monitoring_queries as q
from query_mcp.store import Store
from query_mcp.tools import mib_tree
from query_mcp.tools.args import LIST_CAP, READ_ONLY, regex_filters, window
from query_mcp.tools.cert_state import certificate_state
from query_mcp.tools.results import Listing, listing, rfc3339_or_blank
from schemas import mib_names

MIN_BUCKET_SECONDS = 60
"""resource_monitor holds one sample per process and minute: finer buckets would be empty."""


class CertificateEntry(TypedDict):
    State: str
    Server: str
    Port: int
    Subject: str
    Issuer: str
    SerialNumber: str
    Verify: bool
    NotAfter: str
    NotBefore: str
    Error: str
    FirstTime: str
    LastTime: str
    DaysLeft: float | None
    PollingID: str


class ResourceEntry(TypedDict):
    Time: str
    CPUUsage: str
    MemoryUsage: str
    SwapUsage: str
    DiskUsage: str
    Load: str
    Host: str
    Process: str
    RSSBytes: int
    ConsumerLag: int
    InsertRate: float
    Samples: int


class MibNode(TypedDict):
    oid: str
    name: str
    module: str
    kind: Literal["node", "scalar", "table", "row", "column", "notification"]
    syntax: str
    access: str
    children: list[MibNode]


def register(server: MCPServer, store: Store) -> None:
    """Add the certificate, resource monitor and MIB tree tools to the server."""

    @server.tool(
        name="get_server_certificate_list",
        title="List server certificates",
        annotations=READ_ONLY,
        description=(
            "List the server certificates seen by tls pollings, one per server and port (the one presented last). "
            "Returns {items, count, total, truncated}; items holds {State, Server, Port, Subject, Issuer, "
            "SerialNumber, Verify, NotAfter, "
            "NotBefore, Error, FirstTime, LastTime, DaysLeft, PollingID}. State as in TWSNMP FK: high (not "
            "fetched or not verified), low (expires within 7 days), warn (within 30 days), info (valid over 825 "
            f"days or self-signed), normal. At most {LIST_CAP} entries."
        ),
    )
    async def get_server_certificate_list() -> Annotated[CallToolResult, Listing[CertificateEntry]]:
        rows = await store.rows(*q.certificates_sql(store.database, LIST_CAP))
        now = datetime.now(UTC)
        return listing([_certificate_entry(row, now) for row in rows])

    @server.tool(
        name="get_resource_monitor_list",
        title="netobs resource use",
        annotations=READ_ONLY,
        description=(
            "Resource use of netobs's own processes over a window, averaged per host, process and time bucket "
            "(the window divided into `points` buckets, at least a minute each). Returns {items, count, total, "
            "truncated}; items holds {Time, "
            "CPUUsage, MemoryUsage, SwapUsage, DiskUsage, Load, Host, Process, RSSBytes, ConsumerLag, InsertRate, "
            'Samples}, oldest first; the usages are text as in TWSNMP FK ("12.50%"), Load the 1-minute load '
            "average, ConsumerLag the largest Kafka lag, InsertRate rows stored per second. points is "
            f"10-1440 (default 48); at most {LIST_CAP} entries."
        ),
    )
    async def get_resource_monitor_list(
        start_time: Annotated[
            str, Field(description='Start of the window: "-24h" (default), "-1h", or "2025-10-27 00:00:00" (UTC).')
        ] = "",
        end_time: Annotated[str, Field(description='End of the window: "now" (default) or an absolute UTC time.')] = "",
        host_filter: Annotated[str, Field(description="Regular expression (RE2) on the host name.")] = "",
        process_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the process (ingest, worker, mcp, ...).")
        ] = "",
        points: Annotated[
            int, Field(ge=10, le=1440, description="Time buckets per host and process, 10-1440 (default 48).")
        ] = 48,
    ) -> Annotated[CallToolResult, Listing[ResourceEntry]]:
        start, end = window(start_time, end_time, default_start="-24h")
        filters = await regex_filters(store, host_filter=host_filter, process_filter=process_filter)
        bucket = bucket_seconds((end - start).total_seconds(), points)
        rows = await store.rows(*q.resource_sql(store.database, start, end, bucket, filters, LIST_CAP))
        return listing([_resource_entry(row) for row in rows])

    @server.tool(
        name="get_mib_tree",
        title="The MIB tree",
        annotations=READ_ONLY,
        description=(
            "The MIB tree netobs knows (SNMPv2-MIB, IF-MIB, IP-MIB, HOST-RESOURCES-MIB and more). Returns {items, "
            "count, total, truncated}; items holds the root nodes, each {oid, name, module, kind, syntax, "
            "access, children} with children nested "
            "the same way; with root, items holds just that subtree. kind is node, scalar, table, row, "
            "column or notification."
        ),
    )
    async def get_mib_tree(
        root: Annotated[
            str, Field(description='Optional subtree: a name ("ifTable", "IF-MIB::ifTable") or an OID; blank for all.')
        ] = "",
    ) -> Annotated[CallToolResult, Listing[MibNode]]:
        tree = mib_tree.shipped_tree()
        root = (root or "").strip()
        if not root:
            return listing(tree)
        oid = mib_names.oid_of(root[:256])
        node = mib_tree.subtree(tree, oid) if oid else None
        if node is None:
            raise ToolError(f"root: {root[:64]!r} is not an object of the MIB tree; blank returns the whole tree")
        return listing([node])


def bucket_seconds(window_seconds: float, points: int) -> int:
    """Bucket width that splits the window into about `points` buckets, whole minutes, at least one."""
    minutes = max(1, math.ceil(window_seconds / points / MIN_BUCKET_SECONDS))
    return minutes * MIN_BUCKET_SECONDS


def _certificate_entry(row: Sequence[Any], now: datetime) -> dict[str, Any]:
    server, port, serial, polling_id, subject, issuer, not_before, not_after, verified, error, first, last = row
    not_before = not_before.replace(tzinfo=UTC)
    not_after = not_after.replace(tzinfo=UTC)
    return {
        "State": certificate_state(
            now,
            error=error,
            subject=subject,
            issuer=issuer,
            verified=bool(verified),
            not_before=not_before,
            not_after=not_after,
        ),
        "Server": server,
        "Port": int(port),
        "Subject": subject,
        "Issuer": issuer,
        "SerialNumber": serial,
        "Verify": bool(verified),
        "NotAfter": rfc3339_or_blank(not_after),
        "NotBefore": rfc3339_or_blank(not_before),
        "Error": error,
        "FirstTime": rfc3339(first),
        "LastTime": rfc3339(last),
        "DaysLeft": round((not_after - now).total_seconds() / 86400, 2) if rfc3339_or_blank(not_after) else None,
        "PollingID": polling_id,
    }


def _resource_entry(row: Sequence[Any]) -> dict[str, Any]:
    time, host, process, cpu, memory, swap, disk, load, rss, lag, rate, samples = row
    return {
        "Time": rfc3339(time),
        "CPUUsage": f"{cpu:.2f}%",
        "MemoryUsage": f"{memory:.2f}%",
        "SwapUsage": f"{swap:.2f}%",
        "DiskUsage": f"{disk:.2f}%",
        "Load": f"{load:.2f}",
        "Host": host,
        "Process": process,
        "RSSBytes": int(rss),
        "ConsumerLag": int(lag),
        "InsertRate": round(float(rate), 2),
        "Samples": int(samples),
    }
