"""Who is calling the tool that runs now: set by the guard, read by tools that act in the caller's name."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from query_mcp.auth.scopes import Principal


@dataclass(frozen=True)
class Caller:
    principal: Principal
    client: str
    transport: str


current: ContextVar[Caller | None] = ContextVar("netobs_caller", default=None)


def caller() -> Caller:
    """The caller of the running tool; a tool runs only behind the guard, which always sets one."""
    found = current.get()
    if found is None:
        raise RuntimeError("no caller: tools that act run only behind the MCP guard")
    return found
