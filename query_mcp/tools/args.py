"""Validation shared by the tools: every mistake becomes a ToolError that names the argument."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import annotated_types
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import ConfigDict, model_validator

from query_mcp.store import Store
from query_mcp.tools.bounds import ArgumentError, check_filter
from query_mcp.tools.timeexpr import TimeExprError, time_range

MAX_ID_CHARS = 256
LIST_CAP = 10_000
"""Most rows a list without a documented limit returns (TWSNMP FK returns all; an agent's context cannot)."""


async def regex_filters(store: Store, **filters: str) -> dict[str, str]:
    """The filters as given, after ClickHouse (RE2) has compiled each one."""
    try:
        checked = {name: check_filter(name, value) for name, value in filters.items()}
        await store.check_regexes(checked)
    except ArgumentError as exc:
        raise ToolError(str(exc)) from None
    return checked


def window(start_time: str, end_time: str, default_start: str = "-1h") -> tuple[datetime, datetime]:
    """[start, end] from the tools' time expressions; blank start_time means default_start, blank end_time now."""
    try:
        return time_range((start_time or "").strip() or default_start, end_time)
    except TimeExprError as exc:
        raise ToolError(str(exc)) from None


def required_text(name: str, value: str | None) -> str:
    """A short mandatory string argument such as an id."""
    text = (value or "").strip()
    if not text:
        raise ToolError(f"{name}: required")
    if len(text) > MAX_ID_CHARS or "\x00" in text:
        raise ToolError(f"{name}: at most {MAX_ID_CHARS} characters and no NUL")
    return text


def harden(server: MCPServer) -> None:
    """Make every tool's input schema strict (additionalProperties false) and its refusals helpful: an unknown
    argument names the accepted ones, a number out of range names its bounds. Without this pydantic ignores
    unknown arguments, so `host` instead of `host_filter` would silently return every host."""
    for tool in server._tool_manager.list_tools():  # the SDK has no public handle on a tool's argument model
        _harden(tool)


def _harden(tool: Tool) -> None:
    base = tool.fn_metadata.arg_model
    accepted = {field.alias or name: field for name, field in base.model_fields.items()}
    bounds = {
        name: (_bound(field.metadata, annotated_types.Ge), _bound(field.metadata, annotated_types.Le))
        for name, field in accepted.items()
        if _bound(field.metadata, annotated_types.Ge) is not None
    }

    class Strict(base):  # type: ignore[valid-type,misc]
        # hide_input_in_errors: the refusal (and the audit reason taken from it) must not echo a password.
        model_config = ConfigDict(extra="forbid", title=base.__name__, hide_input_in_errors=True)

        @model_validator(mode="before")
        @classmethod
        def _known_and_in_range(cls, data: Any) -> Any:
            if not isinstance(data, dict):
                return data
            unknown = sorted(set(data) - set(accepted))
            if unknown:
                raise ValueError(
                    f"unknown argument {', '.join(unknown)}; {tool.name} accepts {', '.join(sorted(accepted))}"
                )
            for name, (low, high) in bounds.items():
                value = data.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool) and not low <= value <= high:
                    raise ValueError(f"{name}: {value} is outside {low}-{high}")
            return data

    Strict.__name__ = base.__name__
    tool.fn_metadata.arg_model = Strict
    tool.parameters = Strict.model_json_schema(by_alias=True)


def _bound(metadata: list[Any], kind: type[Any]) -> Any:
    for item in metadata:
        if isinstance(item, kind):
            return item.ge if isinstance(item, annotated_types.Ge) else item.le
    return None


READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
"""The annotations of a tool that reads netobs's own store and nothing else."""
