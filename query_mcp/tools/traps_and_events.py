"""search_snmp_trap_log and search_event_log: TWSNMP FK's parameters, bounds and field names, from ClickHouse;
pages with a cursor."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.types import CallToolResult
from pydantic import Field
from typing_extensions import TypedDict

from common.timefmt import rfc3339
from query_mcp.sql import trap_event_queries as q
from query_mcp.store import Store
from query_mcp.tools.args import READ_ONLY, regex_filters, window
from query_mcp.tools.logs.paging import Page, Paging, page, request
from query_mcp.tools.params import Cursor, EndTime, LogLimit, NewestFirst, StartTime

TrapField = Literal[
    "Time",
    "FromAddress",
    "TrapType",
    "Variables",
    "Node",
    "Version",
    "PDU",
    "TrapOID",
    "SecurityName",
    "Uptime",
    "Enterprise",
    "AgentAddress",
    "GenericTrap",
    "SpecificTrap",
    "Varbinds",
]
EventField = Literal["Time", "Type", "Level", "Node", "Event", "LastLevel", "NodeID", "PollingID", "Downtime", "ID"]
FIELDS_HELP = 'Fields of each entry, e.g. ["Time","Node"]; empty for all.'


class Varbind(TypedDict):
    OID: str
    Name: str
    Type: str
    Value: str


class TrapEntry(TypedDict, total=False):
    Time: str
    FromAddress: str
    TrapType: str
    Variables: str
    Node: str
    Version: str
    PDU: str
    TrapOID: str
    SecurityName: str
    Uptime: int
    Enterprise: str
    AgentAddress: str
    GenericTrap: int
    SpecificTrap: int
    Varbinds: list[Varbind]


class EventEntry(TypedDict, total=False):
    Time: str
    Type: str
    Level: str
    Node: str
    Event: str
    LastLevel: str
    NodeID: str
    PollingID: str
    Downtime: float
    ID: str


def register(server: MCPServer, store: Store, paging: Paging) -> None:
    """Add the trap and event log tools to the server."""

    @server.tool(
        name="search_snmp_trap_log",
        title="Search SNMP traps",
        annotations=READ_ONLY,
        description=(
            "Search received SNMP traps and informs in a time window. Returns {items, count, total, truncated, "
            "cursor}; total is every trap matched, cursor continues after the last item; items holds {Time, "
            "FromAddress, "
            "TrapType, Variables, Node, Version, PDU, TrapOID, SecurityName, Uptime, Enterprise, AgentAddress, "
            "GenericTrap, SpecificTrap, Varbinds}, oldest first (newest first with newest_first=true). TrapType is "
            "the trap's name (e.g. IF-MIB::linkDown; the OID when unknown); Variables is the varbinds as text; "
            "Varbinds the same typed, [{OID, Name, Type, Value}]; Node the managed node with the sender's address. "
            "Only `fields` when given. limit is 1-10000 (default 100)."
        ),
    )
    async def search_snmp_trap_log(
        from_filter: Annotated[str, Field(description="Regular expression (RE2) on the sender's address.")] = "",
        trap_type_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the trap name or its numeric OID.")
        ] = "",
        variable_filter: Annotated[str, Field(description="Regular expression (RE2) on the Variables text.")] = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        limit: LogLimit = 100,
        newest_first: NewestFirst = False,
        fields: Annotated[list[TrapField], Field(description=FIELDS_HELP)] | None = None,
        cursor: Cursor = "",
    ) -> Annotated[CallToolResult, Page[TrapEntry]]:
        query = {
            "from_filter": from_filter,
            "trap_type_filter": trap_type_filter,
            "variable_filter": variable_filter,
            "start_time": start_time,
            "end_time": end_time,
            "newest_first": newest_first,
        }
        req = request(paging, "search_snmp_trap_log", query, cursor, lambda: window(start_time, end_time))
        start, end = req.position.start, req.position.end
        filters = await regex_filters(
            store, from_filter=from_filter, trap_type_filter=trap_type_filter, variable_filter=variable_filter
        )
        rows, counted = await asyncio.gather(
            store.rows(*q.traps_sql(store.database, start, end, filters, limit + 1, newest_first, req.position.after)),
            store.rows(*q.traps_count_sql(store.database, start, end, filters)),
        )
        fetched = [(_trap_entry(row[:18]), (row[0], *row[18:])) for row in rows]
        return page(paging, req, fetched, limit, int(counted[0][0]), fields or [])

    @server.tool(
        name="search_event_log",
        title="Search the event log",
        annotations=READ_ONLY,
        description=(
            "Search the event log (state changes of pollings and nodes, events added by tools) in a time window. "
            "Returns {items, count, total, truncated, cursor}; total is every entry matched, cursor continues "
            "after the last item; items holds {Time, Type, Level, Node, Event, LastLevel, NodeID, PollingID, "
            "Downtime, ID} (only `fields` when given), "
            "oldest first (newest first with newest_first=true). For a state change Level is the new state and "
            "LastLevel the old one (normal, warn, low, high, repair, unknown), Downtime the seconds since the "
            "failure began on a return to normal. limit is 1-10000 (default 100)."
        ),
    )
    async def search_event_log(
        node_filter: Annotated[str, Field(description="Regular expression (RE2) on the node name.")] = "",
        type_filter: Annotated[
            str, Field(description="Regular expression (RE2) on the event type (polling, node, mcp, system, ...).")
        ] = "",
        level_filter: Annotated[
            str,
            Field(description="Regular expression (RE2) on the level (info, warn, low, high, debug, normal, repair)."),
        ] = "",
        event_filter: Annotated[str, Field(description="Regular expression (RE2) on the event text.")] = "",
        start_time: StartTime = "",
        end_time: EndTime = "",
        limit: LogLimit = 100,
        newest_first: NewestFirst = False,
        fields: Annotated[list[EventField], Field(description=FIELDS_HELP)] | None = None,
        cursor: Cursor = "",
    ) -> Annotated[CallToolResult, Page[EventEntry]]:
        query = {
            "node_filter": node_filter,
            "type_filter": type_filter,
            "level_filter": level_filter,
            "event_filter": event_filter,
            "start_time": start_time,
            "end_time": end_time,
            "newest_first": newest_first,
        }
        req = request(paging, "search_event_log", query, cursor, lambda: window(start_time, end_time))
        start, end = req.position.start, req.position.end
        filters = await regex_filters(
            store,
            node_filter=node_filter,
            type_filter=type_filter,
            level_filter=level_filter,
            event_filter=event_filter,
        )
        rows, counted = await asyncio.gather(
            store.rows(*q.events_sql(store.database, start, end, filters, limit + 1, newest_first, req.position.after)),
            store.rows(*q.events_count_sql(store.database, start, end, filters)),
        )
        fetched = [
            (
                {
                    "Time": rfc3339(time),
                    "Type": type_,
                    "Level": level,
                    "Node": node_name,
                    "Event": event,
                    "LastLevel": last_level,
                    "NodeID": node_id,
                    "PollingID": polling_id,
                    "Downtime": float(downtime),
                    "ID": id_,
                },
                (time, id_),
            )
            for time, type_, level, node_name, event, last_level, node_id, polling_id, downtime, id_ in rows
        ]
        return page(paging, req, fetched, limit, int(counted[0][0]), fields or [])


def _trap_entry(row: Sequence[Any]) -> dict[str, Any]:
    (
        received,
        source,
        trap_name,
        trap_oid,
        variables,
        node,
        version,
        pdu,
        security_name,
        uptime,
        enterprise,
        agent_address,
        generic_trap,
        specific_trap,
        oids,
        names,
        types,
        values,
    ) = row
    return {
        "Time": rfc3339(received),
        "FromAddress": source,
        "TrapType": trap_name or trap_oid,
        "Variables": variables,
        "Node": node or "",
        "Version": version,
        "PDU": pdu,
        "TrapOID": trap_oid,
        "SecurityName": security_name,
        "Uptime": int(uptime),
        "Enterprise": enterprise,
        "AgentAddress": agent_address,
        "GenericTrap": int(generic_trap),
        "SpecificTrap": int(specific_trap),
        "Varbinds": [
            {"OID": oid, "Name": name, "Type": type_, "Value": value}
            for oid, name, type_, value in zip(oids, names, types, values, strict=False)
        ],
    }
