"""Which scope each tool needs, and who may see and call what. Pure.

A tool not listed here needs a scope nobody holds: a new tool is invisible and uncallable until it is
given a scope on purpose (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.scopes import APPROVE, PROBE, READ_INVENTORY, READ_LOGS, READ_SQL, SCOPES, WRITE

ALL_SCOPES = frozenset(SCOPES)
_NOBODY = "(no scope grants this tool)"

TOOL_SCOPES: dict[str, str] = {
    "search_syslog": READ_LOGS,
    "get_syslog_summary": READ_LOGS,
    "search_snmp_trap_log": READ_LOGS,
    "search_event_log": READ_LOGS,
    "count_syslog": READ_LOGS,
    "count_snmp_traps": READ_LOGS,
    "count_event_log": READ_LOGS,
    "find_new_syslog_patterns": READ_LOGS,
    "find_syslog_spikes": READ_LOGS,
    "get_node_list": READ_INVENTORY,
    "get_network_list": READ_INVENTORY,
    "get_polling_list": READ_INVENTORY,
    "get_polling_log": READ_INVENTORY,
    "get_polling_log_data": READ_INVENTORY,
    "get_ip_address_list": READ_INVENTORY,
    "get_ip_address_info": READ_INVENTORY,
    "get_mac_address_info": READ_INVENTORY,
    "get_server_certificate_list": READ_INVENTORY,
    "get_resource_monitor_list": READ_INVENTORY,
    "get_mib_tree": READ_INVENTORY,
    "run_select_query": READ_SQL,
    "list_tables": READ_SQL,
    "describe_table": READ_SQL,
    "do_ping": PROBE,
    "snmpwalk": PROBE,
    "get_command_status": PROBE,
    "snmpset": WRITE,
    "add_node": WRITE,
    "update_node": WRITE,
    "add_event_log": WRITE,
    "approve_command": APPROVE,
    "reject_command": APPROVE,
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a named credential and the scopes it holds. Never carries the credential itself."""

    name: str
    scopes: frozenset[str]
    kind: str
    """admin-token, token, jwt or stdio."""

    def may(self, scope: str) -> bool:
        return scope in self.scopes


def required_scope(tool: str) -> str:
    """The scope a tool needs; an unknown tool needs one that no credential can hold."""
    return TOOL_SCOPES.get(tool, _NOBODY)


def may_call(principal: Principal, tool: str) -> bool:
    return principal.may(required_scope(tool))


def visible(principal: Principal, tools: Iterable[str]) -> list[str]:
    """The tools a principal sees in tools/list: exactly those it may call."""
    return [t for t in tools if may_call(principal, t)]


def parse_scopes(value: str | Iterable[str]) -> frozenset[str]:
    """Space- or comma-separated scopes (OAuth's "scope" claim) or a list; unknown names are dropped."""
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    return frozenset(s for s in items if s in ALL_SCOPES)


# The tools each prompt tells an agent to call: a prompt is listed and given only to a principal that may call
# them all, so it never walks an agent into a refusal.
PROMPT_TOOLS: dict[str, tuple[str, ...]] = {
    "investigate_host": ("get_syslog_summary", "search_syslog", "search_event_log", "get_node_list"),
    "explain_pattern": ("get_syslog_summary", "search_syslog"),
    "daily_network_report": ("get_syslog_summary", "search_event_log", "search_snmp_trap_log", "get_node_list"),
    "check_certificates": ("get_server_certificate_list",),
    "failing_pollings": ("get_polling_list", "get_polling_log", "search_event_log"),
}

# The scope each resource needs: the same as the tools that answer the same question. None: any principal.
RESOURCE_SCOPES: dict[str, str | None] = {
    "netobs://tables": READ_SQL,
    "netobs://mib-tree": READ_INVENTORY,
    "netobs://tools": None,
}


def may_get_prompt(principal: Principal, prompt: str) -> bool:
    tools = PROMPT_TOOLS.get(prompt)
    return tools is not None and all(may_call(principal, t) for t in tools)


def may_read(principal: Principal, uri: str) -> bool:
    """A resource URI is readable under the scope of the family it belongs to (netobs://tables/syslog is a
    table's); an unknown one by nobody."""
    for family, scope in RESOURCE_SCOPES.items():
        if uri == family or uri.startswith(family + "/"):
            return scope is None or principal.may(scope)
    return False
