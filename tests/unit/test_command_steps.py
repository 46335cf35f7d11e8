"""query_mcp.command_client.merge_steps: what get_command_status answers from the projection and the topic."""

from __future__ import annotations

from query_mcp.command_client import merge_steps
from schemas.commands import Step


def _at(offset: int, name: str) -> tuple[int, Step]:
    return offset, Step(command_id="c1", step=name, time_ns=offset, actor="ops")


def _names(steps: list[Step]) -> list[str]:
    return [step.step for step in steps]


def test_steps_the_worker_has_not_projected_yet_follow_the_stored_ones() -> None:
    """After a crash the projection may hold only "requested" while the topic says it waits for approval."""
    stored = [_at(7, "requested")]
    seen = [_at(7, "requested"), _at(9, "pending_approval")]
    assert _names(merge_steps(stored, seen)) == ["requested", "pending_approval"]


def test_a_read_back_that_starts_inside_a_command_loses_none_of_its_first_steps() -> None:
    """The topic's tail read at start can begin after a command's first steps; those come from the store."""
    stored = [_at(3, "requested"), _at(4, "pending_approval")]
    seen = [_at(8, "approved"), _at(9, "executing"), _at(10, "executed")]
    assert _names(merge_steps(stored, seen)) == ["requested", "pending_approval", "approved", "executing", "executed"]


def test_the_store_alone_or_the_topic_alone() -> None:
    assert _names(merge_steps([_at(1, "requested"), _at(2, "executed")], [])) == ["requested", "executed"]
    assert _names(merge_steps([], [_at(1, "requested")])) == ["requested"]
    assert merge_steps([], []) == []
