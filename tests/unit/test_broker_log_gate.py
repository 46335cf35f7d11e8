"""Hardening issue, finding 14: a broker outage is told in a few lines, not by every repeat of the Kafka
library's complaint (a 43 s restart under a node logged 21,366 ERROR lines)."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from common import kafka_client
from common.kafka_client import KafkaAccess
from netobs.logs import BrokerLogGate


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def wired() -> tuple[BrokerLogGate, Lines, list[float]]:
    now = [100.0]
    gate = BrokerLogGate("the worker waits", summary_seconds=30, quiet_seconds=15, clock=lambda: now[0])
    lines = Lines()
    lines.addFilter(gate)
    root = logging.getLogger()
    root.addHandler(lines)
    yield gate, lines, now
    root.removeHandler(lines)


def test_an_outage_is_one_line_lost_summaries_and_one_line_back(wired) -> None:
    gate, lines, now = wired
    library = logging.getLogger("aiokafka.consumer.fetcher")
    for second in range(61):
        now[0] = 100.0 + second
        for _ in range(20):
            library.error("Failed fetch messages from 1: NodeNotReadyError: node which is not ready (node id 1).")
        gate.tick()
    for second in range(61, 80):
        now[0] = 100.0 + second
        gate.tick()
    said = [(r.levelname, r.getMessage()) for r in lines.records]
    assert said[0][0] == "ERROR" and said[0][1].startswith("broker unreachable (aiokafka.consumer.fetcher: Failed")
    assert "the worker waits" in said[0][1]
    assert [level for level, _ in said] == ["ERROR", "WARNING", "WARNING", "WARNING"]
    assert said[1][1].startswith("broker still unreachable after 30 s")
    assert said[2][1].startswith("broker still unreachable after 60 s")
    assert said[3][1].startswith("broker answering again: no broker errors for 15 s, after 60 s away; 1220 library")
    assert gate.tick() is False


def test_other_messages_pass_and_a_new_outage_is_told_again(wired) -> None:
    gate, lines, now = wired
    logging.getLogger("aiokafka").warning("Topic netobs.x is not available during auto-create initialization")
    logging.getLogger("processors.app").error("syslog insert failed; Connect call failed")
    logging.getLogger("aiokafka").error("Unable connect to node with id 1: [Errno 111] Connect call failed")
    now[0] += 20
    gate.tick()
    logging.getLogger("aiokafka").error("Unable to update metadata from [1]")
    said = [r.getMessage()[:40] for r in lines.records]
    assert said == [
        "Topic netobs.x is not available during a",
        "syslog insert failed; Connect call faile",
        "broker unreachable (aiokafka: Unable con",
        "broker answering again: no broker errors",
        "broker unreachable (aiokafka: Unable to ",
    ]


def test_with_a_probe_quiet_is_not_enough_the_broker_must_answer(wired) -> None:
    """A paused broker: the clients wait and stop complaining, but it answers nothing."""
    gate, lines, now = wired
    answering = [False]
    gate.probe = lambda: answering[0]
    logging.getLogger("aiokafka.consumer.fetcher").error("Failed fetch messages from 1: RequestTimedOutError")
    for second in range(1, 40):
        now[0] = 100.0 + second
        assert gate.tick() is True
    answering[0] = True
    now[0] += 1
    assert gate.tick() is False
    said = [r.getMessage() for r in lines.records]
    assert said[0].startswith("broker unreachable")
    assert said[1].startswith("broker still unreachable after 30 s (the clients are quiet, but it does not answer")
    assert said[2].startswith("broker answering again: no broker errors for 15 s and it answered a metadata request")
    assert len(said) == 3


def test_answers_is_false_for_a_closed_port_and_for_a_listener_that_never_answers() -> None:
    """A listening socket nobody reads stands in for a paused broker: the kernel completes the handshake."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    assert kafka_client.answers(KafkaAccess(f"127.0.0.1:{port}"), timeout=1.0) is False
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        assert kafka_client.answers(KafkaAccess(f"127.0.0.1:{silent.getsockname()[1]}"), timeout=1.0) is False
        assert time.monotonic() - started < 30, "the probe gives up after its timeout"


def test_the_probes_own_library_messages_are_neither_shown_nor_counted() -> None:
    """The probe runs on the gate's thread; what aiokafka says about its failed attempt must not restart the
    quiet period (the broker would then never be found back) nor reach the log."""
    lines = Lines()
    gate = BrokerLogGate("the worker waits", summary_seconds=3600, quiet_seconds=0.0)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    gate.probe = lambda: kafka_client.answers(KafkaAccess(f"127.0.0.1:{port}"), timeout=1.0)
    lines.addFilter(gate)
    root = logging.getLogger()
    root.addHandler(lines)
    try:
        logging.getLogger("aiokafka").error("Unable connect to node with id 1: [Errno 111] Connect call failed")
        for _ in range(3):
            time.sleep(1.5)
        held = sum(gate._held.values())
    finally:
        root.removeHandler(lines)
        gate.probe = lambda: True  # the outage ends, so the watcher thread stops probing a port nobody opens
        if gate._watcher is not None:
            gate._watcher.join(10)
    assert held == 1
    assert [r.name for r in lines.records] == ["netobs.broker"]
    assert gate._watcher is not None and not gate._watcher.is_alive()
