import asyncio
from typing import Any
from unittest.mock import MagicMock

import pytest
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from query_mcp.service import build_server
from query_mcp.tools.bounds import MAX_FILTER_CHARS, ArgumentError, check_filter
from schemas import command_args

SQL_TOOLS = {"run_select_query", "list_tables", "describe_table"}


def _listed() -> tuple[MCPServer, dict[str, dict[str, Any]]]:
    """The server of every tool (on a store never reached: these calls fail before a query) and its listing."""
    store = MagicMock(database="netobs", timeout_seconds=5)
    server = build_server(store)
    return server, {t.name: t.model_dump(by_alias=True, exclude_none=True) for t in asyncio.run(server.list_tools())}


def test_every_tool_has_a_strict_input_schema_an_output_schema_a_title_and_annotations():
    _, tools = _listed()
    for name, tool in tools.items():
        if name in SQL_TOOLS:
            continue
        assert tool["inputSchema"]["additionalProperties"] is False, name
        assert tool["outputSchema"]["type"] == "object" and "result" not in tool["outputSchema"]["properties"], name
        assert tool["title"] and tool["annotations"], name
    assert "additionalProperties" not in tools["run_select_query"]["inputSchema"]  # query_mcp.sql's own
    assert (
        tools["search_syslog"]["inputSchema"]["properties"]["limit"] | {"minimum": 1, "maximum": 10000}
        == (tools["search_syslog"]["inputSchema"]["properties"]["limit"])
    )
    assert tools["snmpwalk"]["inputSchema"]["properties"]["snmp_mode"]["enum"] == list(command_args.SNMP_MODES)
    assert tools["add_event_log"]["inputSchema"]["properties"]["level"]["enum"] == [
        "info",
        "normal",
        "warn",
        "low",
        "high",
    ]


def test_annotations_say_what_a_tool_does():
    _, tools = _listed()
    hints = {name: tool["annotations"] for name, tool in tools.items() if name not in SQL_TOOLS}
    assert hints["search_syslog"]["readOnlyHint"] and not hints["search_syslog"]["openWorldHint"]
    for name in ("do_ping", "snmpwalk", "snmpset"):
        assert hints[name]["openWorldHint"], name
    for name in ("snmpset", "update_node"):
        assert hints[name]["destructiveHint"] and not hints[name]["readOnlyHint"], name
    assert hints["do_ping"]["readOnlyHint"] and hints["snmpwalk"]["readOnlyHint"]


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        (
            "search_syslog",
            {"host": "r1"},
            "unknown argument host; search_syslog accepts cursor, end_time, fields, host_filter",
        ),
        ("search_syslog", {"limit": 0}, "limit: 0 is outside 1-10000"),
        ("get_syslog_summary", {"top_n": 501}, "top_n: 501 is outside 1-500"),
        ("get_polling_log", {"id": "p", "limit": 0}, "limit: 0 is outside 1-2000"),
        ("get_resource_monitor_list", {"points": 1}, "points: 1 is outside 10-1440"),
        ("do_ping", {"target": "r1", "ttl": 255}, "ttl: 255 is outside 1-254"),
        ("snmpwalk", {"target": "r1", "mib_object_name": "system", "snmp_mode": "v1"}, "snmp_mode"),
    ],
)
def test_unknown_arguments_and_values_out_of_range_are_refused_by_name(tool, args, message):
    server, _ = _listed()
    with pytest.raises(ToolError, match=message.replace("(", r"\(")):
        asyncio.run(server.call_tool(tool, args))


def test_filters_checked_for_size_and_nul():
    assert check_filter("host_filter", None) == ""
    assert check_filter("host_filter", "^r[0-9]+$") == "^r[0-9]+$"
    with pytest.raises(ArgumentError, match="host_filter"):
        check_filter("host_filter", "a" * (MAX_FILTER_CHARS + 1))
    with pytest.raises(ArgumentError, match="NUL"):
        check_filter("tag_filter", "a\x00b")


def test_a_refusal_does_not_echo_the_arguments():
    server, _ = _listed()
    args = {"target": "r1", "mib_object_name": "system", "password": "hunter2-secret", "bogus": 1}
    with pytest.raises(ToolError) as refused:
        asyncio.run(server.call_tool("snmpwalk", args))
    assert "unknown argument bogus" in str(refused.value) and "hunter2" not in str(refused.value)
