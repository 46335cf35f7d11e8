"""The broker refuses what is not a stage's principal, and each principal what its ACLs do not give it.

Real Apache Kafka started as `netobs run` starts it (the session's `broker` fixture); every client is a plain
aiokafka client, as an attacker on 127.0.0.1 would use. Before authentication, an unauthenticated client on
127.0.0.1 could produce a command to netobs.commands that the executor then carried out.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError

from common import kafka_client
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from netobs import broker_auth
from schemas.topics import COMMAND_RESULTS, COMMANDS, INVENTORY, MCP_AUDIT, SYSLOG_RAW
from tests import brokers

pytestmark = pytest.mark.integration

REFUSED_AT_CONNECT = (KafkaConnectionError, KafkaError)


async def _produce(kafka: KafkaAccess, topic: str) -> None:
    producer = kafka_client.producer(kafka, acks="all", request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(producer.start(), 20)
        await asyncio.wait_for(
            producer.send_and_wait(topic, b"forged " + uuid.uuid4().hex.encode(), key=b"node:forged", partition=0), 20
        )
    finally:
        await producer.stop()


async def _consume(kafka: KafkaAccess, topic: str) -> list[bytes]:
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(consumer.start(), 20)
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        batches = await consumer.getmany(tp, timeout_ms=3000)
        return [r.value for r in batches.get(tp, [])]
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
def topics(broker: brokers.Cluster) -> brokers.Cluster:
    asyncio.run(ensure_topics(broker.admin, 4, 1))
    return broker


@pytest.mark.parametrize("listener", ["stages", "super user"])
async def test_a_client_without_credentials_cannot_produce_or_consume(topics: brokers.Cluster, listener: str) -> None:
    bootstrap = topics.bootstrap if listener == "stages" else topics.admin.bootstrap
    anonymous = KafkaAccess(bootstrap)
    with pytest.raises(REFUSED_AT_CONNECT):
        await _produce(anonymous, COMMANDS)
    with pytest.raises(REFUSED_AT_CONNECT):
        await _consume(anonymous, COMMAND_RESULTS)


@pytest.mark.parametrize("stage", broker_auth.STAGES)
async def test_a_wrong_password_is_refused(topics: brokers.Cluster, stage: str) -> None:
    real = topics.stage(stage)
    wrong = KafkaAccess(real.bootstrap, real.sasl_mechanism, real.username, real.password[::-1])
    with pytest.raises(REFUSED_AT_CONNECT):
        await _produce(wrong, SYSLOG_RAW)
    with pytest.raises(REFUSED_AT_CONNECT):
        await _consume(wrong, SYSLOG_RAW)


async def test_the_super_user_password_does_not_open_the_stage_listener(topics: brokers.Cluster) -> None:
    """The stages' listener speaks SCRAM only: the super user's PLAIN login is not accepted there."""
    plain = KafkaAccess(topics.bootstrap, "PLAIN", topics.admin.username, topics.admin.password)
    with pytest.raises(REFUSED_AT_CONNECT):
        await _produce(plain, COMMANDS)


@pytest.mark.parametrize(
    ("stage", "topic"),
    [
        ("mcp", SYSLOG_RAW),  # the MCP service writes commands and its audit, never raw data
        ("ingest", COMMANDS),  # a receiver cannot issue a command
        ("ingest", INVENTORY),  # nor add a node
        ("traps", SYSLOG_RAW),  # a receiver writes its own raw topic only
        ("poller", INVENTORY),  # the poller reads the inventory, never writes it
        ("worker", COMMANDS),
        ("executor", MCP_AUDIT),  # the executor cannot forge the MCP service's audit
    ],
)
async def test_a_stage_cannot_write_outside_its_acls(topics: brokers.Cluster, stage: str, topic: str) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(topics.stage(stage), topic)


@pytest.mark.parametrize(
    ("stage", "topic"),
    [("ingest", COMMANDS), ("ingest", COMMAND_RESULTS), ("traps", INVENTORY), ("mcp", SYSLOG_RAW)],
)
async def test_a_stage_cannot_read_outside_its_acls(topics: brokers.Cluster, stage: str, topic: str) -> None:
    """The broker hides the topic from the principal's metadata (the super user sees it) and a fetch of
    its partition hands the principal nothing."""

    async def visible(kafka: KafkaAccess) -> set[str]:
        consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
        await asyncio.wait_for(consumer.start(), 20)
        try:
            return set(await consumer.topics())
        finally:
            await consumer.stop()

    assert topic in await visible(topics.admin)
    assert topic not in await visible(topics.stage(stage))
    assert await _consume(topics.stage(stage), topic) == []


async def test_each_stage_can_do_what_it_needs(topics: brokers.Cluster) -> None:
    """The ACLs are not so tight that the pipeline stops: each principal writes and reads its own topics."""
    await _produce(topics.stage("ingest"), SYSLOG_RAW)
    await _produce(topics.stage("mcp"), COMMANDS)
    await _produce(topics.stage("executor"), COMMAND_RESULTS)
    assert await _consume(topics.stage("executor"), COMMANDS)
    assert await _consume(topics.stage("mcp"), COMMAND_RESULTS)
    assert await _consume(topics.stage("worker"), SYSLOG_RAW)
