"""get_node_list, get_network_list, get_polling_list, get_polling_log, get_polling_log_data: TWSNMP FK's
parameters, bounds and field names, answered from the inventory and state tables."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import inventory_queries as q
from query_mcp.store import Store
from query_mcp.tools.args import LIST_CAP, READ_ONLY, regex_filters, required_text
from query_mcp.tools.logs.paging import Page, Paging, page, request
from query_mcp.tools.params import Cursor
from query_mcp.tools.results import Listing, json_object, listing, rfc3339_or_blank, structured

STATES = "State names: normal, warn, low, high, repair, unknown."
NameFilter = Annotated[str, Field(description="Regular expression (RE2) on the name; blank for all.")]
IPFilter = Annotated[str, Field(description="Regular expression (RE2) on the IP address; blank for all.")]
StateFilter = Annotated[str, Field(description=f"Regular expression (RE2) on the state; blank for all. {STATES}")]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The window of a polling log's cursor: the log has none, the cursor carries one."""
PollingID = Annotated[str, Field(description="ID of the polling (the ID field of get_polling_list).")]


class NodeEntry(TypedDict):
    ID: str
    Name: str
    IP: str
    MAC: str
    State: str
    X: int
    Y: int
    Icon: str
    Description: str
    StateSince: str


class NetworkEntry(TypedDict):
    ID: str
    Name: str
    IP: str
    Ports: list[str]
    X: int
    Y: int
    Description: str


class PollingEntry(TypedDict):
    ID: str
    Name: str
    NodeID: str
    NodeName: str
    Type: str
    Level: str
    State: str
    Logging: bool
    LastTime: str
    Result: dict[str, Any]
    StateSince: str
    LastReason: str
    Params: dict[str, str]
    IntervalSeconds: int


class PollingLogEntry(TypedDict, total=False):
    Time: str
    State: str
    Result: dict[str, Any]
    Outcome: str
    Reason: str
    DurationMs: float
    Error: str


class PollingLogData(TypedDict):
    csv: Annotated[str, Field(description="time,state,<numeric keys> and one line per poll, newest first.")]
    count: Annotated[int, Field(description="Lines after the header.")]


_URL_USERINFO = re.compile(r"(://)[^/@\s]*@")
_SECRET_KEY = re.compile(r"pass|secret|token|community|key", re.IGNORECASE)


def register(server: MCPServer, store: Store, paging: Paging) -> None:
    """Add the inventory tools to the server."""

    @server.tool(
        name="get_node_list",
        title="List nodes",
        annotations=READ_ONLY,
        description=(
            "List managed nodes. Returns {items, count, total, truncated}; items holds {ID, Name, IP, MAC, "
            "State, X, Y, Icon, Description, "
            f"StateSince}} sorted by name (at most {LIST_CAP}). State is the worst state of the node's pollings; "
            f"unknown until one has been polled. {STATES}"
        ),
    )
    async def get_node_list(
        name_filter: NameFilter = "", ip_filter: IPFilter = "", state_filter: StateFilter = ""
    ) -> Annotated[CallToolResult, Listing[NodeEntry]]:
        filters = await regex_filters(store, name_filter=name_filter, ip_filter=ip_filter, state_filter=state_filter)
        rows = await store.rows(*q.nodes_sql(store.database, filters, LIST_CAP))
        return listing(
            [
                {
                    "ID": id_,
                    "Name": name,
                    "IP": ip,
                    "MAC": mac,
                    "State": state,
                    "X": int(x),
                    "Y": int(y),
                    "Icon": icon,
                    "Description": description,
                    "StateSince": rfc3339_or_blank(since),
                }
                for id_, name, ip, mac, state, x, y, icon, description, since in rows
            ]
        )

    @server.tool(
        name="get_network_list",
        title="List networks",
        annotations=READ_ONLY,
        description=(
            "List networks (subnets) netobs knows of. Returns {items, count, total, truncated}; items holds {ID, "
            "Name, IP, Ports, X, Y, "
            f"Description}} sorted by name (at most {LIST_CAP}); IP is a CIDR."
        ),
    )
    async def get_network_list(
        name_filter: NameFilter = "", ip_filter: IPFilter = ""
    ) -> Annotated[CallToolResult, Listing[NetworkEntry]]:
        filters = await regex_filters(store, name_filter=name_filter, ip_filter=ip_filter)
        rows = await store.rows(*q.networks_sql(store.database, filters, LIST_CAP))
        return listing(
            [
                {
                    "ID": id_,
                    "Name": name,
                    "IP": ip,
                    "Ports": list(ports),
                    "X": int(x),
                    "Y": int(y),
                    "Description": description,
                }
                for id_, name, ip, ports, x, y, description in rows
            ]
        )

    @server.tool(
        name="get_polling_list",
        title="List pollings",
        annotations=READ_ONLY,
        description=(
            "List pollings (scheduled checks of nodes). Returns {items, count, total, truncated}; items holds "
            "{ID, Name, NodeID, NodeName, Type, "
            "Level, State, Logging, LastTime, Result, StateSince, LastReason, Params, IntervalSeconds} sorted by "
            f"node name and name (at most {LIST_CAP}). Type is ping, snmp, tcp, http, dns or tls; Level is the "
            "state a failure gives (high, low, warn); Result is the newest result as an object; LastTime is blank "
            f"and State unknown until the first poll. {STATES}"
        ),
    )
    async def get_polling_list(
        type_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the type (ping, snmp, tcp, http, dns, tls).")
        ] = "",
        name_filter: NameFilter = "",
        node_name_filter: Annotated[str, Field(description="Regular expression (RE2) on the node's name.")] = "",
        state_filter: StateFilter = "",
    ) -> Annotated[CallToolResult, Listing[PollingEntry]]:
        filters = await regex_filters(
            store,
            type_filter=type_filter,
            name_filter=name_filter,
            node_name_filter=node_name_filter,
            state_filter=state_filter,
        )
        rows = await store.rows(*q.pollings_sql(store.database, filters, LIST_CAP))
        return listing([_polling_entry(row) for row in rows])

    @server.tool(
        name="get_polling_log",
        title="Read a polling's log",
        annotations=READ_ONLY,
        description=(
            "Read the log of one polling, newest first. Returns {items, count, total, truncated, cursor}; total "
            "is every entry logged, cursor continues after the last item; items holds {Time, State, Result, "
            "Outcome, Reason, DurationMs, Error} (only `fields` when given); Result holds the numeric and text "
            "results of the poll. limit is 1-2000 (default 100). An unknown id is an error."
        ),
    )
    async def get_polling_log(
        id: PollingID,
        limit: Annotated[
            int, Field(ge=1, le=2000, description="Maximum entries returned, 1-2000 (default 100).")
        ] = 100,
        fields: Annotated[
            list[Literal["Time", "State", "Result", "Outcome", "Reason", "DurationMs", "Error"]],
            Field(description='Fields of each entry, e.g. ["Time","State"]; empty for all.'),
        ]
        | None = None,
        cursor: Cursor = "",
    ) -> Annotated[CallToolResult, Page[PollingLogEntry]]:
        req = request(paging, "get_polling_log", {"id": id}, cursor, lambda: (EPOCH, EPOCH))
        rows = await _polling_log(store, id, limit + 1, req.position.after)
        counted = await store.rows(*q.polling_log_count_sql(store.database, id))
        fetched = [
            (
                {
                    "Time": rfc3339(time),
                    "State": state,
                    "Result": _result(values, texts),
                    "Outcome": outcome,
                    "Reason": reason,
                    "DurationMs": float(duration_ms),
                    "Error": error,
                },
                (time, *key),
            )
            for time, state, values, texts, outcome, reason, duration_ms, error, *key in rows
        ]
        return page(paging, req, fetched, limit, int(counted[0][0]), fields or [])

    @server.tool(
        name="get_polling_log_data",
        title="A polling's numeric results as CSV",
        annotations=READ_ONLY,
        description=(
            "The numeric results of one polling's log as CSV, newest first, in {csv, count}: a header line "
            '"time,state,<key>,..." (the numeric result keys, e.g. rtt_ms, loss, status_code, sorted) and one '
            "line per poll; a key a poll did not report is left empty; only the header when nothing is logged "
            "yet. limit is 100-2000 (default 100). An unknown id is an error."
        ),
    )
    async def get_polling_log_data(
        id: PollingID,
        limit: Annotated[
            int, Field(ge=100, le=2000, description="Maximum lines returned, 100-2000 (default 100).")
        ] = 100,
    ) -> Annotated[CallToolResult, PollingLogData]:
        rows = await _polling_log(store, id, limit)
        csv_text = polling_csv([(rfc3339(time), state, values) for time, state, values, *_ in rows])
        return structured({"csv": csv_text, "count": len(rows)})


async def _polling_log(
    store: Store, polling_id: str, limit: int, after: tuple[Any, ...] = ()
) -> Sequence[Sequence[Any]]:
    """Log rows of a polling; an id that is neither logged nor a live polling is the agent's mistake."""
    polling_id = required_text("id", polling_id)
    rows = await store.rows(*q.polling_log_sql(store.database, polling_id, limit, after))
    if not rows and not after:
        known = await store.rows(*q.polling_known_sql(store.database, polling_id))
        if not known[0][0]:
            raise ToolError(f"id: no polling has id {polling_id!r}; get_polling_list lists the IDs")
    return rows


def polling_csv(rows: Sequence[tuple[str, str, Mapping[str, float]]]) -> str:
    """TWSNMP FK's CSV: time,state and one column per numeric key (the union over the rows, sorted)."""
    keys = sorted({key for _, _, values in rows for key in values})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "state", *keys])
    for time, state, values in rows:
        writer.writerow([time, state, *(f"{values[k]:f}" if k in values else "" for k in keys)])
    return out.getvalue().rstrip("\n")


def _result(values: Mapping[str, float], texts: Mapping[str, str]) -> dict[str, Any]:
    """One poll's results as TWSNMP FK's Result map: numbers stay numbers."""
    return {**texts, **{key: float(value) for key, value in values.items()}}


def _redacted(params: Mapping[str, str]) -> dict[str, str]:
    """Polling parameters without anything that could be a credential (URL user info, secret-named keys)."""
    return {
        key: "***" if _SECRET_KEY.search(key) else _URL_USERINFO.sub(r"\1***@", value) for key, value in params.items()
    }


def _polling_entry(row: Sequence[Any]) -> dict[str, Any]:
    (
        id_,
        name,
        node_id,
        node_name,
        kind,
        level,
        state,
        logging,
        last_time,
        last_result,
        since,
        last_reason,
        params,
        interval_s,
    ) = row
    return {
        "ID": id_,
        "Name": name,
        "NodeID": node_id,
        "NodeName": node_name,
        "Type": kind,
        "Level": level,
        "State": state,
        "Logging": bool(logging),
        "LastTime": rfc3339_or_blank(last_time),
        "Result": json_object(last_result),
        "StateSince": rfc3339_or_blank(since),
        "LastReason": last_reason,
        "Params": _redacted(params),
        "IntervalSeconds": int(interval_s),
    }
