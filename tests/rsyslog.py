"""Real rsyslog as a RELP sender: lines fed to its imptcp input go out through omrelp.

Debian's rsyslog conflicts with syslog-ng-core, so scripts/rsyslog_private.sh unpacks it into a private
root (CI runs it); this module finds that root and runs rsyslogd from it with its own configuration. A
machine without it skips the tests, except under CI or NETOBS_REQUIRE_RSYSLOG=1, where it is a failure.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from common import kafka_client
from common.kafka_client import KafkaAccess
from schemas import raw_syslog
from schemas.topics import SYSLOG_RAW
from tests import brokers
from tests.brokers import Cluster
from tests.integration.pipeline import node_env, wait_port

ROOT_ENV = "NETOBS_RSYSLOG_ROOT"
REQUIRE_ENV = "NETOBS_REQUIRE_RSYSLOG"
DEFAULT_ROOT = Path.home() / ".cache" / "netobs" / "rsyslog"
LIBS = "usr/lib/x86_64-linux-gnu"
MODULES = f"{LIBS}/rsyslog"
SETUP = "scripts/rsyslog_private.sh"


def find_root() -> Path | None:
    """The private root with rsyslogd and omrelp, if there is one."""
    path = Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    if (path / "usr/sbin/rsyslogd").is_file() and (path / MODULES / "omrelp.so").is_file():
        return path
    return None


def root() -> Path:
    """The private root with rsyslogd and omrelp; skips (or fails under CI) when there is none."""
    path = find_root()
    if path is not None:
        return path
    why = f"no rsyslog with omrelp under {os.environ.get(ROOT_ENV) or DEFAULT_ROOT}: run {SETUP}"
    if os.environ.get("CI") == "true" or os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(why)
    pytest.skip(why)


def config(work: Path, input_port: int, relp_port: int) -> str:
    """imptcp on input_port -> an in-memory action queue -> omrelp to 127.0.0.1:relp_port, retried forever.

    The queue holds every line while the receiver is away; omrelp resends the frames it had not had an
    answer for when a session breaks.
    """
    return f"""
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imptcp")
module(load="omrelp")
template(name="line" type="string" string="%rawmsg%")
input(type="imptcp" address="127.0.0.1" port="{input_port}" ruleset="forward")
ruleset(name="forward") {{
    action(type="omrelp" target="127.0.0.1" port="{relp_port}" template="line" windowSize="1024"
           queue.type="LinkedList" queue.size="500000" queue.dequeueBatchSize="1024"
           action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


class Rsyslog:
    """rsyslogd -n with its own configuration and work directory; stop() ends it."""

    def __init__(self, work: Path, relp_port: int) -> None:
        base = root()
        work.mkdir(parents=True, exist_ok=True)
        self.input_port = brokers.free_port()
        conf = work / "rsyslog.conf"
        conf.write_text(config(work, self.input_port, relp_port))
        env = dict(os.environ, LD_LIBRARY_PATH=str(base / LIBS))
        self.log_path = work / "rsyslogd.log"
        args = [str(base / "usr/sbin/rsyslogd"), "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")]
        self.proc = brokers.spawn([*args, "-M", str(base / MODULES)], self.log_path, env=env)
        deadline = time.monotonic() + 30
        while not _listens(self.input_port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"rsyslogd did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def send(self, lines: list[bytes], per_second: int = 0) -> None:
        """Feed lines to rsyslog's input over TCP, newline-framed; at most per_second when given."""
        with socket.create_connection(("127.0.0.1", self.input_port)) as sock:
            chunk = max(1, per_second // 20) if per_second else 5000
            started = time.monotonic()
            for i in range(0, len(lines), chunk):
                sock.sendall(b"".join(line + b"\n" for line in lines[i : i + chunk]))
                if per_second:
                    ahead = (i + chunk) / per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)

    def stop(self) -> None:
        brokers.stop(self.proc)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


NUMBER = re.compile(rb" line (\d+)$")


def numbered(marker: str, count: int) -> list[bytes]:
    """count syslog lines carrying marker, numbered 0 to count - 1 at their end."""
    return [f"<13>Dec  4 10:00:00 relphost relptest: {marker} line {i}".encode() for i in range(count)]


async def raw_line_numbers(
    kafka: KafkaAccess, marker: str, until: int = 0, timeout: float = 300.0, quiet: float = 3.0
) -> tuple[collections.Counter[int], float]:
    """How often each numbered line carrying marker is in the raw topic, read from its start with one consumer
    until `until` distinct lines were read (or timeout) and then nothing new came for `quiet` seconds; also
    the monotonic time the last of the `until` lines was read."""
    found: collections.Counter[int] = collections.Counter()
    needle = marker.encode()
    deadline = time.monotonic() + timeout
    complete_at: float | None = None
    last_read = time.monotonic()
    consumer = kafka_client.consumer(kafka, SYSLOG_RAW, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            now = time.monotonic()
            if not batches:
                if len(found) >= until and now - last_read >= quiet:
                    break
                continue
            last_read = now
            for records in batches.values():
                for record in records:
                    for line in raw_syslog.decode(record.value).lines:
                        if needle in line and (m := NUMBER.search(line)):
                            found[int(m.group(1))] += 1
            if complete_at is None and len(found) >= until:
                complete_at = now
    finally:
        await consumer.stop()
    return found, complete_at or time.monotonic()


def start_ingest(broker: Cluster, data: Path, relp_port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """`netobs ingest` with only its RELP receiver, on relp_port, as the ingest principal."""
    env = node_env(
        broker,
        data,
        "ingest",
        NETOBS_SYSLOG_UDP_PORT="0",
        NETOBS_SYSLOG_TCP_PORT="0",
        NETOBS_SYSLOG_TLS_PORT="0",
        NETOBS_SYSLOG_RELP_PORT=str(relp_port),
        NETOBS_SYSLOG_BATCH_MS="20",
    )
    proc = brokers.spawn([sys.executable, "-m", "netobs", "ingest"], log_path, env=env)
    wait_port(relp_port, proc, log_path, timeout=60)
    return proc


def relp_kill_run(
    broker: Cluster, work: Path, count: int, per_second: int, kills: int
) -> tuple[collections.Counter[int], float]:
    """rsyslog sends count numbered lines at per_second (0: as fast as it takes them) through omrelp to
    `netobs ingest`, which is SIGKILLed kills times, evenly spread over the sending time, and started again
    at once. Returns how often each line is in the raw topic once rsyslog has delivered everything, and the
    seconds from the first line until then."""
    relp_port = brokers.free_port()
    marker = f"relp-{uuid.uuid4().hex[:8]}"
    log_path = work / "ingest.log"
    ingest = start_ingest(broker, work / "data", relp_port, log_path)
    sender = Rsyslog(work / "rsyslog", relp_port)
    started = time.monotonic()
    try:
        feeding = threading.Thread(target=sender.send, args=(numbered(marker, count), per_second))
        feeding.start()
        seconds = count / per_second if per_second else 0.0
        for k in range(1, kills + 1):
            time.sleep(max(0.0, started + k * seconds / (kills + 1) - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(ingest.pid, signal.SIGKILL)
            ingest.wait(10)
            ingest = start_ingest(broker, work / "data", relp_port, log_path)
        feeding.join()
        # Frames still being resent after the last line arrived would show up in the quiet time.
        found, complete_at = asyncio.run(raw_line_numbers(broker.admin, marker, until=count))
        return found, complete_at - started
    finally:
        sender.stop()
        brokers.stop(ingest)
