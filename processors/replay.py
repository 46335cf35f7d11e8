"""Replay: empty the projections of some topics and make the worker group read those topics again from
their start, so the next worker run rebuilds the tables from the topics (which are the truth).

Run it while no worker of the group runs: the group's committed offsets are reset to each partition's
earliest offset, which the broker refuses while a worker holds the group (and which a live worker would
overwrite). Offsets are reset first and the tables emptied after, so a refusal leaves the tables as
they were. Every projection is deterministic in its topic, so the rebuilt tables equal the old ones, as
far as the topics still hold the records (retention and compaction decide that). The events the state
machines publish are published again with the same ids; event_log keeps the first copy of each.

command_audit is not a rebuildable projection but the audit trail itself (a hash chain, kept without TTL):
replay never empties it, and the group keeps its offsets on the command results topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.admin import DeleteGroupsRequest

from common import clickhouse, kafka_client
from common.kafka_client import KafkaAccess
from processors import clickhouse_writer
from schemas.tables import (
    CERTIFICATES,
    COMMAND_AUDIT,
    EVENT_LOG,
    IP_ADDRESS,
    MCP_AUDIT,
    NETWORKS,
    NODE_STATE,
    NODES,
    POLLING_LOG,
    POLLING_STATE,
    POLLINGS,
    SNMP_TRAPS,
    SYSLOG,
    SYSLOG_PATTERNS,
)
from schemas.topics import ALL_TOPICS, COMMAND_RESULTS, EVENTS, INVENTORY, POLL_RESULTS, SYSLOG_RAW
from schemas.topics import MCP_AUDIT as MCP_AUDIT_TOPIC
from schemas.topics import SNMP_TRAPS as TRAPS_TOPIC

PROJECTIONS: dict[str, tuple[str, ...]] = {
    SYSLOG_RAW: (SYSLOG, SYSLOG_PATTERNS),
    TRAPS_TOPIC: (SNMP_TRAPS,),
    POLL_RESULTS: (POLLING_LOG, POLLING_STATE, NODE_STATE, IP_ADDRESS, CERTIFICATES),
    INVENTORY: (NODES, POLLINGS, NETWORKS),
    EVENTS: (EVENT_LOG,),
    MCP_AUDIT_TOPIC: (MCP_AUDIT,),
}
"""The tables each topic's projection writes (resource_monitor is not a projection and is kept)."""

KEPT = {COMMAND_RESULTS: COMMAND_AUDIT}
"""Tables replay never empties, by topic. A rebuilt command_audit would start a new chain, and lose the steps
the topic's retention has dropped: the worker's offset ledger keeps it once-only without a rebuild."""

NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69


class ReplayRefused(RuntimeError):
    """The group still has live members, or the broker refused the reset: nothing was emptied."""


@dataclass(frozen=True)
class Replayed:
    """What a replay reset: the start offset of each partition, and the tables emptied."""

    offsets: dict[tuple[str, int], int]
    tables: tuple[str, ...]


def replay(
    kafka: KafkaAccess, group_id: str, dsn: str, database: str, topics: Sequence[str] = tuple(PROJECTIONS)
) -> Replayed:
    """Reset the group to the start of topics, then empty their projections and saved processor states.

    The worker rebuilds the tables when it next starts. Raises ReplayRefused while a worker of the group runs.
    """
    kept = sorted(set(topics) & set(KEPT))
    if kept:
        raise ValueError(f"{', '.join(KEPT[t] for t in kept)} is the audit trail: replay never empties it")
    unknown = set(topics) - set(PROJECTIONS)
    if unknown:
        raise ValueError(f"no projection for {sorted(unknown)}; topics are {sorted(PROJECTIONS)}")
    tables = tuple(t for topic in topics for t in PROJECTIONS[topic])
    client = clickhouse.connect(dsn)  # first: a running single node holds its embedded ClickHouse, and this fails
    try:
        offsets = asyncio.run(rewind_group(kafka, group_id, topics))
        clickhouse_writer.truncate(client, database, tables)
        clickhouse_writer.forget_states(client, database, topics)
    finally:
        client.close()
    return Replayed(offsets=offsets, tables=tables)


async def rewind_group(kafka: KafkaAccess, group_id: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """Move group_id to the earliest offset of every partition of topics; returns those offsets.

    The group is deleted and its offsets committed afresh: a broker may keep a stopped worker as a
    member (Tansu ignores LeaveGroup), which makes it refuse commits from outside the group, while a
    deletion clears that. Apache Kafka refuses the deletion while a worker runs (non-empty group).
    Topics the group reads that are not replayed get their committed offsets back.
    """
    every = await topic_partitions(kafka, ALL_TOPICS)
    consumer = kafka_client.consumer(kafka, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        replayed = [tp for tp in every if tp.topic in topics]
        # Read back one by one: list_consumer_group_offsets is not reliable on every broker (Tansu).
        kept = {tp: c for tp in every if tp.topic not in topics and (c := await consumer.committed(tp)) is not None}
        await _delete_group(kafka, group_id)
        target = {**kept, **await consumer.beginning_offsets(replayed)}
        if not target:
            return {}
        consumer.assign(list(target))
        try:
            await consumer.commit(target)
        except KafkaError as exc:
            raise ReplayRefused(f"the broker refused to reset group {group_id} (is a worker running?): {exc}") from exc
        for tp, offset in target.items():
            if await consumer.committed(tp) != offset:
                raise ReplayRefused(f"group {group_id}: {tp.topic}/{tp.partition} did not move to {offset}")
        return {(tp.topic, tp.partition): target[tp] for tp in replayed}
    finally:
        await consumer.stop()


async def topic_partitions(kafka: KafkaAccess, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist (from the broker's metadata; a missing topic has none)."""
    admin = kafka_client.admin(kafka, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0 for p in t["partitions"]
    )


async def _delete_group(kafka: KafkaAccess, group_id: str) -> None:
    """DeleteGroups (the admin client has no public call for it); a group that does not exist is fine."""
    admin = kafka_client.admin(kafka, request_timeout_ms=10_000)
    await admin.start()
    try:
        coordinator = await admin.find_coordinator(group_id)
        response = await admin._send_request(DeleteGroupsRequest([group_id]), coordinator)
    finally:
        await admin.close()
    for _, code in response.results:
        if code == NON_EMPTY_GROUP:
            raise ReplayRefused(f"group {group_id} has live members: stop every worker first")
        if code not in (0, GROUP_ID_NOT_FOUND):
            raise ReplayRefused(f"the broker refused to delete group {group_id}: {for_code(code).__name__}")
