"""Helpers that start real netobs parts for the integration tests, and the mcp SDK client to ask them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from common import kafka_client
from common.kafka_client import KafkaAccess
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW
from tests.brokers import Cluster

TOKEN = "integration-token-0123456789"


def node_env(broker: Cluster | None, data_dir: Path, stage: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a netobs child process of a test: its own ports and data directory, and the broker's
    address and credentials: a stage's principal, or (stage None: a whole `netobs run`, whose parts then share
    one principal) the super user. broker None: the child starts its own embedded broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_KAFKA")}
    env.update(broker.env(stage) if broker else {}, NETOBS_DATA_DIR=str(data_dir), NETOBS_LOG_LEVEL="INFO")
    # A test that wants traps gives a free port; one that wants polls turns the poller on, after making sure
    # the shared broker's inventory names only loopback addresses (tests never send beyond 127.0.0.0/8).
    env.update(NETOBS_SNMP_TRAP_PORT="0", NETOBS_POLLER_ENABLED="false", NETOBS_SYSLOG_RELP_PORT="0")
    env.update(extra)
    return env


def own_node_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a whole `netobs run` that starts its own broker and store, as a user runs it: node_env
    without a broker, and no ClickHouse server address inherited from the test run either."""
    env = node_env(None, data_dir, **extra)
    env.pop("NETOBS_CLICKHOUSE", None)
    return env


def add_token(env: dict[str, str], name: str, *scopes: str) -> str:
    """`netobs token add NAME --scope ...` on the data directory of env, as an operator runs it; returns the secret."""
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    return subprocess.run(
        [sys.executable, "-m", "netobs", "token", "add", name, *scope_args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


async def send_raw(kafka: KafkaAccess, records: Iterable[tuple[int, list[bytes]]], source: str) -> None:
    """Produce each (partition, lines) to the raw syslog topic as one RawBatch from source, received now over
    UDP, as the ingest stage writes it; acks=all, so each is in the broker when this returns."""
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for partition, lines in records:
            batch = raw_syslog.RawBatch(
                version=1,
                transport="udp",
                received_ns=[time.time_ns()] * len(lines),
                sources=[source] * len(lines),
                lines=lines,
                flags=[0] * len(lines),
            )
            await producer.send_and_wait(SYSLOG_RAW, raw_syslog.encode(batch), partition=partition)
    finally:
        await producer.stop()


async def committed_raw(
    kafka: KafkaAccess, group: str, partitions: int, missing: int | None = None, commit_ends: bool = False
) -> dict[int, int]:
    """The group's committed offset per partition of the raw syslog topic (OffsetFetch through a consumer that
    joins nothing). A partition with nothing committed gets `missing`, or is left out when that is None.
    commit_ends first commits the topic's end offsets, so that the group starts after what other tests left
    in the shared topic."""
    consumer = kafka_client.consumer(kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(SYSLOG_RAW, p) for p in range(partitions)]
    try:
        if commit_ends:
            consumer.assign(tps)
            await consumer.commit(await consumer.end_offsets(tps))
        found = {}
        for tp in tps:
            offset = await consumer.committed(tp)
            if offset is not None and offset >= 0:
                found[tp.partition] = offset
            elif missing is not None:
                found[tp.partition] = missing
        return found
    finally:
        await consumer.stop()


def wait_port(
    port: int, proc: subprocess.Popen[bytes] | None = None, log_path: Path | None = None, timeout: float = 30
) -> None:
    """Wait until 127.0.0.1:port accepts TCP connections (or the process that should open it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited: {log_path.read_text()[-2000:] if log_path else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


async def call(url: str, tool: str, args: dict[str, Any], token: str = TOKEN) -> Any:
    """Call one tool over Streamable HTTP with the mcp SDK client; returns the parsed JSON result (a list tool's
    rows)."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool(tool, args)
    text = result.content[0].text
    if result.is_error:
        raise AssertionError(f"{tool} failed: {text}")
    return rows_of(json.loads(text))


def rows_of(data: Any) -> Any:
    """The rows of a list tool's {items, count, total, truncated}; any other result as it is."""
    return data["items"] if isinstance(data, dict) and "items" in data and "truncated" in data else data


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Poll until predicate() returns something truthy; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")
