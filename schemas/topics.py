"""Topic names, how records are spread over partitions, and how each topic is created."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

SYSLOG_RAW = "netobs.syslog.raw"
"""Raw syslog as received: many lines per record (schemas.raw_syslog), partitioned by source address; while one
sender floods, the other senders of its partition are placed in the others (consumers must not assume a sender
is in one partition only)."""

SNMP_TRAPS = "netobs.snmp.traps"
"""Decoded SNMP traps and informs (schemas.traps.TrapBatch), partitioned by source address."""

POLL_RESULTS = "netobs.poll.results"
"""Results of scheduled polls (schemas.polls.PollBatch), partitioned by node id, so one worker sees every
polling of a node and can compute the node's state."""

INVENTORY = "netobs.inventory"
"""Nodes, pollings and networks as events (schemas.inventory.InventoryEvent), one partition, compacted:
the key is "<kind>:<id>", the last event of a key is the entity's current definition."""

EVENTS = "netobs.events"
"""Event log entries (schemas.events.EventBatch): state changes and other events, partitioned by node id."""

MCP_AUDIT = "netobs.mcp.audit"
"""One record per MCP request (schemas.mcp_audit.AuditBatch), partitioned by service instance."""

COMMANDS = "netobs.commands"
"""Actions asked for over MCP, and approvals of pending ones (schemas.commands.Command, JSON), one partition:
one executor at a time applies them in order, so per-actor rate limits and approvals see one history."""

COMMAND_RESULTS = "netobs.command.results"
"""Every step of every command (schemas.commands.Step, JSON), one partition, in the order they happened: the
MCP service waits here for outcomes, the executor rebuilds what it knows from here, the worker chains it into
command_audit."""


@dataclass(frozen=True)
class TopicSpec:
    """How a topic is created: partition count (None = the configured default) and topic configs."""

    name: str
    partitions: int | None = None
    configs: dict[str, str] = field(default_factory=dict)


TOPICS = (
    TopicSpec(SYSLOG_RAW),
    TopicSpec(SNMP_TRAPS),
    TopicSpec(POLL_RESULTS),
    TopicSpec(INVENTORY, partitions=1, configs={"cleanup.policy": "compact"}),
    TopicSpec(EVENTS),
    TopicSpec(MCP_AUDIT),
    TopicSpec(COMMANDS, partitions=1),
    TopicSpec(COMMAND_RESULTS, partitions=1),
)
ALL_TOPICS = tuple(t.name for t in TOPICS)


def partition_for(source: str, partitions: int) -> int:
    """The partition of a key (a source address or node id), stable across processes.

    One sender's lines stay in order and meet the same miner; one node's poll results meet the same
    state machine.
    """
    return zlib.crc32(source.encode()) % partitions
