"""Resources: the reference an agent reads before it asks, without spending a tool call on it.

The documented tables (what each holds, and each table's columns), the MIB tree netobs knows, and a digest of
the tools. The guard decides who may read which (query_mcp.auth.scopes.RESOURCE_SCOPES) and filters the tool
digest to the caller's own tools.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from query_mcp.auth import caller, scopes
from query_mcp.sql.tools import TABLE_DOCS, table_description
from query_mcp.store import Store
from query_mcp.tools import mib_tree
from query_mcp.tools.results import dumps

JSON = "application/json"


def register(server: MCPServer, store: Store) -> None:
    """Add the resources to the server."""

    @server.resource(
        "netobs://tables",
        name="tables",
        title="Tables",
        description="The tables an analyst can query (run_select_query) and what each holds.",
        mime_type=JSON,
    )
    def tables() -> str:
        return dumps(
            [{"name": name, "description": text, "uri": f"netobs://tables/{name}"} for name, text in TABLE_DOCS.items()]
        )

    @server.resource(
        "netobs://tables/{table}",
        name="table",
        title="Table columns",
        description="One table's columns (name, type, meaning), sorting and partition keys.",
        mime_type=JSON,
    )
    async def table(table: str) -> str:
        if table not in TABLE_DOCS:
            raise ResourceError(f"unknown table {table[:64]!r}; netobs://tables lists them")
        return dumps(await table_description(store, table))

    @server.resource(
        "netobs://mib-tree",
        name="mib-tree",
        title="MIB tree",
        description="The MIB objects netobs knows by name (as get_mib_tree returns them), nested by OID.",
        mime_type=JSON,
    )
    def mib() -> str:
        return dumps(list(mib_tree.shipped_tree()))

    @server.resource(
        "netobs://tools",
        name="tools",
        title="Tool digest",
        description="Every tool this credential may call: title, scope, whether it only reads, and what it does.",
        mime_type=JSON,
    )
    async def tools() -> str:
        who = caller.current.get()
        listed = await server.list_tools()
        mine = [tool for tool in listed if who is not None and scopes.may_call(who.principal, tool.name)]
        return dumps([_digest(tool.model_dump(by_alias=True)) for tool in mine])


def _digest(tool: dict[str, Any]) -> dict[str, Any]:
    hints = tool.get("annotations") or {}
    description = str(tool.get("description") or "")
    return {
        "name": tool["name"],
        "title": tool.get("title") or hints.get("title") or "",
        "scope": scopes.required_scope(tool["name"]),
        "read_only": bool(hints.get("readOnlyHint")),
        "destructive": bool(hints.get("destructiveHint")),
        "summary": description.split(". ")[0].strip().rstrip(".") + "." if description else "",
    }
