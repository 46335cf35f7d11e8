"""The probes against real peers on 127.0.0.1, and the poller service end to end against a real broker.

Peers: ICMP to 127.0.0.1, net-snmp's snmpd (v1, v2c, v3 authNoPriv/authPriv/AES-256; stopped and
restarted), a TCP listener, Python's http.server over HTTP and HTTPS (a self-signed certificate made
here), and dnsmasq. Values are checked against what the peer was set up with or against net-snmp's own
tools, not against the probe's idea of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import math
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from common import kafka_client
from common.config import PollerConfig
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.signing import sign
from ingest.pollers import schedule
from ingest.pollers.counters import PollerCounters
from ingest.pollers.runner import Probes
from ingest.pollers.service import serve
from netobs import broker_auth
from netobs.broker_auth import DESCRIBE, READ, TOPIC
from schemas import inventory, polls
from schemas.inventory import InventoryEvent, Node, Polling
from schemas.topics import POLL_RESULTS, partition_for
from tests import brokers
from tests.integration import snmp_fixtures
from tests.signing_keys import KEYS
from tests.snmpd import WRONG_COMMUNITY, Snmpd, cli_args, free_udp_port

pytestmark = pytest.mark.integration

snmpd = snmp_fixtures.snmpd
snmpd_shared = snmp_fixtures.snmpd_shared
PARTITIONS = 4
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
SNMPWALK = shutil.which("snmpwalk") or "/usr/bin/snmpwalk"
SNMPSET = shutil.which("snmpset") or "/usr/bin/snmpset"


def a_node(ip: str = "127.0.0.1", credential: str = "", node_id: str = "n1") -> Node:
    return Node(id=node_id, name=f"node-{node_id}", ip=ip, snmp_credential=credential)


def a_polling(kind: str, params: dict[str, str] | None = None, **fields) -> Polling:
    fields.setdefault("id", f"{kind}-{uuid.uuid4().hex[:8]}")
    fields.setdefault("node_id", "n1")
    fields.setdefault("name", kind)
    return Polling(kind=kind, params=params or {}, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def probes(snmpd_shared: Snmpd) -> AsyncIterator[Probes]:
    prober = Probes({**snmpd_shared.credentials, "wrong": WRONG_COMMUNITY})
    try:
        yield prober
    finally:
        await prober.close()


# --- ping -----------------------------------------------------------------------------------------------


async def test_ping_localhost(probes: Probes):
    m = await probes.measure(a_polling("ping", {"count": "3", "size": "100", "ttl": "32"}), a_node())
    assert m.outcome == "ok", m.error
    assert m.values["loss"] == 0 and m.values["sent"] == m.values["received"] == 3
    assert 0 < m.values["rtt_min_ms"] <= m.values["rtt_ms"] <= m.values["rtt_max_ms"]
    default_ttl = int(Path("/proc/sys/net/ipv4/ip_default_ttl").read_text())
    assert m.values["ttl"] == default_ttl, "the kernel answers with its default TTL, whatever the request had"
    six = await probes.measure(a_polling("ping", {"count": "1"}), a_node("::1"))
    assert six.outcome == "ok" and six.values["loss"] == 0


async def test_ping_concurrent_targets_share_one_socket(probes: Probes):
    nodes = [a_node(f"127.0.{i // 200}.{i % 200 + 1}", node_id=f"n{i}") for i in range(400)]
    results = await asyncio.gather(*(probes.measure(a_polling("ping", {"count": "2"}), n) for n in nodes))
    assert [m.outcome for m in results] == ["ok"] * 400
    assert sum(m.values["loss"] for m in results) == 0


async def test_ping_cannot_poll_a_name_or_bad_params(probes: Probes):
    unknown = await probes.measure(a_polling("ping"), a_node("not-an-address"))
    assert unknown.outcome == "unknown" and "not an IP address" in unknown.error
    bad = await probes.measure(a_polling("ping", {"count": "many"}), a_node())
    assert bad.outcome == "unknown" and "param count" in bad.error


SETPRIV = shutil.which("setpriv")
_PING_CHILD = """
import asyncio, json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from ingest.pollers.runner import Probes
from schemas.inventory import Node, Polling

async def main():
    probes = Probes({})
    polling = Polling(id="p", node_id="n", name="ping", kind="ping", params={"count": "1"})
    m = await probes.measure(polling, Node(id="n", name="n", ip="127.0.0.1"))
    await probes.close()
    print(json.dumps({"outcome": m.outcome, "error": m.error}))

asyncio.run(main())
"""


@pytest.mark.skipif(SETPRIV is None, reason="setpriv (util-linux) is needed to drop CAP_NET_RAW")
def test_ping_without_raw_sockets():
    """Without CAP_NET_RAW the pinger falls back to unprivileged ICMP, or says plainly why it cannot ping."""
    done = subprocess.run(
        [SETPRIV, "--bounding-set=-net_raw", "--inh-caps=-net_raw", sys.executable, "-c", _PING_CHILD],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
        check=True,
    )
    got = json.loads(done.stdout.splitlines()[-1])
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    if low <= os.getgid() <= high:
        assert got["outcome"] == "ok" and "datagram (unprivileged)" in done.stderr
    else:
        assert got == {
            "outcome": "unknown",
            "error": "no ICMPv4 socket: run as root, or allow unprivileged ICMP (sysctl net.ipv4.ping_group_range)",
        }


# --- SNMP -----------------------------------------------------------------------------------------------


def walk_oracle(agent: Snmpd, oid: str) -> list[tuple[str, str]]:
    """(OID, value) rows from net-snmp's snmpwalk (v2c), the reference for what the agent holds."""
    done = subprocess.run(
        [SNMPWALK, "-v", "2c", "-c", agent.credentials["v2c"].community, "-On", "-Oq", agent.address, oid],
        capture_output=True,
        text=True,
        env={"MIBS": "", "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=20,
    )
    rows = []
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith(f".{oid}."):  # an empty subtree prints the subtree itself with "No Such Instance"
            rows.append((name[1:], value.strip().strip('"')))
    return rows


@pytest.mark.parametrize("credential", ["v1", "v2c", "v3auth", "v3authpriv", "v3authprivex"])
async def test_snmp_get_and_walk_each_security_mode(probes: Probes, snmpd_shared: Snmpd, credential: str):
    params = {"port": str(snmpd_shared.port), "oids": "sysName.0,ifNumber.0,1.3.6.1.2.1.1.2.0", "walk": "ifDescr"}
    m = await probes.measure(a_polling("snmp", params, interval_s=60), a_node(credential=credential))
    assert m.outcome == "ok", m.error
    assert m.texts["sysName.0"] == snmpd_shared.get("1.3.6.1.2.1.1.5.0").strip('"')
    assert m.values["ifNumber.0"] == float(snmpd_shared.get("1.3.6.1.2.1.2.1.0"))
    assert m.texts["sysObjectID.0"] == snmpd_shared.get("1.3.6.1.2.1.1.2.0").lstrip(".")
    assert m.values["sysUpTime.0"] > 0 and m.values["uptime_s"] == m.values["sysUpTime.0"] / 100
    descr = {k: v for k, v in m.texts.items() if k.startswith("ifDescr.")}
    expected = {
        f"ifDescr.{oid.rsplit('.', 1)[1]}": value for oid, value in walk_oracle(snmpd_shared, "1.3.6.1.2.1.2.2.1.2")
    }
    assert descr == expected and "ifDescr.1" in descr


async def test_snmp_resources_and_arp(probes: Probes, snmpd_shared: Snmpd):
    params = {"port": str(snmpd_shared.port), "resources": "true", "arp": "true"}
    m = await probes.measure(a_polling("snmp", params), a_node(credential="v2c"))
    assert m.outcome == "ok", m.error
    assert m.texts[f"arp:{snmp_fixtures.ARP_IP}"] == snmp_fixtures.ARP_MAC
    assert m.values["arp_entries"] == len([k for k in m.texts if k.startswith("arp:")])
    types = walk_oracle(snmpd_shared, "1.3.6.1.2.1.25.2.3.1.2")
    ram = [oid.rsplit(".", 1)[1] for oid, value in types if value.endswith("1.3.6.1.2.1.25.2.1.2")]
    assert ram, "net-snmp on Linux reports physical memory in hrStorageTable"
    units = {o.rsplit(".", 1)[1]: int(v.split()[0]) for o, v in walk_oracle(snmpd_shared, "1.3.6.1.2.1.25.2.3.1.4")}
    size = {o.rsplit(".", 1)[1]: int(v) for o, v in walk_oracle(snmpd_shared, "1.3.6.1.2.1.25.2.3.1.5")}
    assert m.values["mem_size_bytes"] == sum(units[i] * size[i] for i in ram)
    assert 0 < m.values["mem_used_pct"] <= 100
    loads = [int(v) for _, v in walk_oracle(snmpd_shared, "1.3.6.1.2.1.25.3.3.1.2")]
    if loads:  # net-snmp fills hrProcessorLoad after its first minute of sampling
        assert m.values["cpu_count"] == len(loads)
    else:
        assert "cpu_load_pct" not in m.values


async def test_snmp_wrong_community_fails_and_the_prober_goes_on(probes: Probes, snmpd_shared: Snmpd):
    params = {"port": str(snmpd_shared.port)}
    wrong = await probes.measure(a_polling("snmp", params, timeout_s=0.5, retries=0), a_node(credential="wrong"))
    assert wrong.outcome == "fail" and "timeout" in wrong.error.lower()
    assert WRONG_COMMUNITY.community not in wrong.error
    right = await probes.measure(a_polling("snmp", params), a_node(credential="v2c"))
    assert right.outcome == "ok"


async def test_snmp_missing_credential_or_unknown_name_is_unknown(probes: Probes, snmpd_shared: Snmpd):
    params = {"port": str(snmpd_shared.port)}
    none = await probes.measure(a_polling("snmp", params), a_node(credential=""))
    assert none.outcome == "unknown" and "no SNMP credential" in none.error
    missing = await probes.measure(a_polling("snmp", params), a_node(credential="nowhere"))
    assert missing.outcome == "unknown" and "'nowhere'" in missing.error
    bad = await probes.measure(a_polling("snmp", {**params, "oids": "noSuchObject.0"}), a_node(credential="v2c"))
    assert bad.outcome == "unknown" and "noSuchObject" in bad.error


async def test_snmp_agent_stopped_then_restarted(snmpd: Snmpd):
    """Down: fail. Back: ok, sysUpTime went down, and restarted says so (the agent is younger than an interval)."""
    prober = Probes(snmpd.credentials)
    poll = a_polling("snmp", {"port": str(snmpd.port)}, interval_s=2, timeout_s=0.5, retries=0)
    try:
        for credential in ("v2c", "v3authpriv"):
            while (before := await prober.measure(poll, a_node(credential=credential))).values["uptime_s"] < 2.5:
                await asyncio.sleep(0.5)
            assert before.outcome == "ok" and before.values["restarted"] == 0
            snmpd.stop()
            down = await prober.measure(poll, a_node(credential=credential))
            assert down.outcome == "fail" and "timeout" in down.error.lower()
            snmpd.start()
            after = await prober.measure(poll, a_node(credential=credential))
            assert after.outcome == "ok", after.error
            assert after.values["sysUpTime.0"] < before.values["sysUpTime.0"]
            assert after.values["restarted"] == 1
    finally:
        await prober.close()


def test_snmpd_fixture_keeps_sys_contact_and_location_writable(snmpd: Snmpd):
    """The fixture's promise to later snmpset tests: both are writable (v2c rw community and v3 authPriv)."""
    for credential, oid, value in (
        ("v2c-rw", "1.3.6.1.2.1.1.4.0", "noc@example.test"),
        ("v3authpriv", "1.3.6.1.2.1.1.6.0", "rack 7"),
    ):
        args = [SNMPSET, *cli_args(snmpd.credentials[credential]), "-t", "2", "-r", "0", snmpd.address, oid, "s", value]
        subprocess.run(
            args, capture_output=True, text=True, env={"MIBS": "", "PATH": "/usr/bin:/bin"}, check=True, timeout=20
        )
        assert snmpd.get(oid) == f'"{value}"'


# --- TCP, HTTP, TLS -------------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


async def test_tcp_open_and_closed(probes: Probes, listener: int):
    opened = await probes.measure(a_polling("tcp", {"port": str(listener)}), a_node())
    assert opened.outcome == "ok" and opened.values["connect_ms"] > 0
    closed = await probes.measure(a_polling("tcp", {"port": str(brokers.free_port())}, retries=0), a_node())
    assert closed.outcome == "fail" and "refused" in closed.error.lower()
    missing = await probes.measure(a_polling("tcp"), a_node())
    assert missing.outcome == "unknown" and "param port" in missing.error


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello" if self.path == "/" else b"not here"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def self_signed(directory: Path, days: int) -> tuple[Path, Path, x509.Certificate]:
    """A self-signed certificate for 127.0.0.1 valid from yesterday for `days` more days, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netobs-test.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, cert


@contextlib.contextmanager
def http_server(context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, x509.Certificate]]:
    cert_path, key_path, cert = self_signed(tmp_path_factory.mktemp("tls"), days=10)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with http_server(context) as port:
        yield port, cert


async def test_http_status_against_expect_status(probes: Probes):
    with http_server() as port:
        base = f"http://127.0.0.1:{port}"
        found = await probes.measure(a_polling("http", {"url": f"{base}/"}), a_node())
        assert found.outcome == "ok" and found.values["status_code"] == 200 and found.values["bytes"] == 5
        assert found.values["latency_ms"] > 0
        missing = await probes.measure(a_polling("http", {"url": f"{base}/gone"}, retries=0), a_node())
        assert missing.outcome == "fail" and missing.values["status_code"] == 404 and "404" in missing.error
        wanted = await probes.measure(a_polling("http", {"url": f"{base}/gone", "expect_status": "404"}), a_node())
        assert wanted.outcome == "ok"
        head = await probes.measure(a_polling("http", {"url": f"{base}/", "method": "HEAD"}), a_node())
        assert head.outcome == "ok" and head.values["bytes"] == 0
    refused = await probes.measure(a_polling("http", {"url": f"{base}/"}, retries=0), a_node())
    assert refused.outcome == "fail"


async def test_https_verification(probes: Probes, https: tuple[int, x509.Certificate]):
    port, _ = https
    url = f"https://127.0.0.1:{port}/"
    strict = await probes.measure(a_polling("http", {"url": url}, retries=0), a_node())
    assert strict.outcome == "fail" and "certificate" in strict.error.lower()
    lax = await probes.measure(a_polling("http", {"url": url, "verify_tls": "false"}), a_node())
    assert lax.outcome == "ok" and lax.values["status_code"] == 200


async def test_tls_certificate(probes: Probes, https: tuple[int, x509.Certificate]):
    port, cert = https
    m = await probes.measure(a_polling("tls", {"port": str(port)}), a_node())
    assert m.outcome == "ok", m.error
    assert m.values["verified"] == 0 and m.texts["verified"] == "false"
    assert "self-signed" in m.texts["verify_error"] or "self signed" in m.texts["verify_error"]
    expected_days = (cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
    assert math.isclose(m.values["days_left"], expected_days, abs_tol=0.01)
    assert m.texts["subject"] == m.texts["issuer"] == "CN=netobs-test.local"
    assert m.texts["serial"] == format(cert.serial_number, "x")
    assert m.texts["not_after"] == cert.not_valid_after_utc.isoformat()
    assert m.texts["san"] == "127.0.0.1" and m.texts["tls_version"].startswith("TLS")
    closed = await probes.measure(a_polling("tls", {"port": str(brokers.free_port())}, retries=0), a_node())
    assert closed.outcome == "fail"


# --- DNS ------------------------------------------------------------------------------------------------

LONG_TXT = ["a" * 200, "b" * 200, "c" * 200, "d" * 200]
"""800 bytes of TXT: more than a plain UDP answer holds (512), so the server truncates and TCP follows."""


@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not Path(DNSMASQ).exists():
        pytest.fail("dnsmasq is not installed (Debian: apt-get install dnsmasq-base)", pytrace=False)
    while True:  # a port free for both UDP and TCP (dnsmasq listens on both)
        port = free_udp_port()
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            break
    directory = tmp_path_factory.mktemp("dnsmasq")
    args = [
        DNSMASQ,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--user=root",
        "--pid-file=",
        "--local=/netobs.test/",
        "--host-record=web.netobs.test,192.0.2.10,2001:db8::10",
        "--cname=www.netobs.test,web.netobs.test",
        "--mx-host=netobs.test,mail.netobs.test,10",
        "--txt-record=netobs.test,v=spf1 -all",
        "--txt-record=long.netobs.test," + ",".join(LONG_TXT),
        f"--log-facility={directory / 'dnsmasq.log'}",
    ]
    proc = brokers.spawn(args, directory / "dnsmasq.out")
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dnsmasq did not start: {(directory / 'dnsmasq.out').read_text()}", pytrace=False)
            time.sleep(0.05)
        yield port
    finally:
        brokers.stop(proc)


@pytest.mark.parametrize(
    ("name", "rdtype", "answer"),
    [
        ("web.netobs.test", "A", "192.0.2.10"),
        ("web.netobs.test", "AAAA", "2001:db8::10"),
        ("www.netobs.test", "A", "web.netobs.test., 192.0.2.10"),
        ("netobs.test", "MX", "10 mail.netobs.test."),
        ("netobs.test", "TXT", "v=spf1 -all"),
        ("192.0.2.10", "PTR", "web.netobs.test."),
        ("long.netobs.test", "TXT", "".join(LONG_TXT)),
    ],
)
async def test_dns_answers(probes: Probes, dnsmasq: int, name: str, rdtype: str, answer: str):
    params = {"name": name, "rdtype": rdtype, "port": str(dnsmasq)}
    m = await probes.measure(a_polling("dns", params), a_node())
    assert m.outcome == "ok", m.error
    assert m.texts["answer"] == answer and m.texts["rcode"] == "NOERROR"
    assert m.values["answers"] == len(answer.split(", ")) and m.values["rtt_ms"] > 0


async def test_dns_failures(probes: Probes, dnsmasq: int):
    nx = await probes.measure(a_polling("dns", {"name": "nope.netobs.test", "port": str(dnsmasq)}), a_node())
    assert nx.outcome == "fail" and nx.texts["rcode"] == "NXDOMAIN" and nx.values["rcode"] == 3
    params = {"name": "web.netobs.test", "port": str(free_udp_port())}
    silent = await probes.measure(a_polling("dns", params, timeout_s=0.5, retries=0), a_node())
    assert silent.outcome == "fail"
    nameless = await probes.measure(a_polling("dns", {"port": str(dnsmasq)}), a_node())
    assert nameless.outcome == "unknown"


# --- the service end to end -----------------------------------------------------------------------------


async def _new_topic(kafka: KafkaAccess, name: str) -> None:
    admin = kafka_client.admin(kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()


async def _publish(kafka: KafkaAccess, topic: str, *bodies: Node | Polling, delete: bool = False) -> None:
    producer = kafka_client.producer(kafka, acks="all")
    await producer.start()
    try:
        for body in bodies:
            kind = "node" if isinstance(body, Node) else "polling"
            event = InventoryEvent(
                kind=kind,
                op="delete" if delete else "upsert",
                id=body.id,
                time_ns=time.time_ns(),
                actor="test",
                **({} if delete else {kind: body}),
            )
            await producer.send_and_wait(
                topic, inventory.encode(sign(KEYS["inventory"], event)), key=event.key, partition=0
            )
    finally:
        await producer.stop()


class _Results:
    """Reads POLL_RESULTS from the offsets it had when opened; keeps the results of the given nodes."""

    def __init__(self, kafka: KafkaAccess, node_ids: set[str]) -> None:
        self.consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
        self.node_ids = node_ids
        self.results: list[tuple[int, polls.PollResult]] = []
        self.removals: list[tuple[int, polls.Removal]] = []

    async def open(self) -> None:
        await self.consumer.start()
        self.consumer.assign([TopicPartition(POLL_RESULTS, p) for p in range(PARTITIONS)])
        await self.consumer.seek_to_end()
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)

    async def until(self, done: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"results so far: {[r.polling_id for _, r in self.results]}"
            for tp, records in (await self.consumer.getmany(timeout_ms=200)).items():
                for record in records:
                    batch = polls.decode(record.value)
                    for result in batch.results:
                        if result.node_id in self.node_ids:
                            self.results.append((tp.partition, result))
                    self.removals += [(tp.partition, r) for r in batch.removals if r.node_id in self.node_ids]

    def of(self, polling_id: str) -> list[polls.PollResult]:
        return [r for _, r in self.results if r.polling_id == polling_id]


async def test_service_end_to_end(broker: brokers.Cluster, snmpd_shared: Snmpd, listener: int, tmp_path: Path):
    """Inventory in, batches out: every kind of outcome, partitioned by node, following inventory changes.

    The poller gets an inventory topic of its own: other tests put nodes on the shared broker's inventory
    that are not on this machine, and a poller must never send them anything.
    """
    await ensure_topics(broker.admin, PARTITIONS, replication_factor=1)
    topic = f"test.inventory.{uuid.uuid4().hex[:8]}"
    await _new_topic(broker.admin, topic)
    poller = broker_auth.principal("poller")  # may read its private inventory topic, as it may read netobs's
    await broker_auth.create_acls(broker.admin, [broker_auth.Acl(poller, TOPIC, topic, op) for op in (READ, DESCRIBE)])
    marker = uuid.uuid4().hex[:8]
    local = a_node("127.0.0.1", credential="v2c", node_id=f"{marker}-local")
    other = a_node("127.0.0.2", node_id=f"{marker}-other")
    silent = socket.socket()  # accepts connections (the kernel does) but never answers a request
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    pollings = {
        "ping": a_polling("ping", {"count": "1"}, node_id=local.id, interval_s=1),
        "snmp": a_polling("snmp", {"port": str(snmpd_shared.port)}, node_id=local.id, interval_s=1),
        "tcp": a_polling("tcp", {"port": str(listener)}, node_id=local.id, interval_s=1),
        "closed": a_polling("tcp", {"port": str(brokers.free_port())}, node_id=other.id, interval_s=1, retries=0),
        "slow": a_polling(
            "http",
            {"url": f"http://127.0.0.1:{silent.getsockname()[1]}/"},
            node_id=other.id,
            interval_s=1,
            timeout_s=2.5,
            retries=0,
        ),
        "orphan": a_polling("ping", node_id=f"{marker}-missing", interval_s=1),
        "bad": a_polling("tcp", {"port": "none"}, node_id=other.id, interval_s=1),
    }
    await _publish(broker.admin, topic, local, other, *pollings.values())
    results = _Results(broker.admin, {local.id, other.id})
    await results.open()
    counters = PollerCounters()
    stop, ready = asyncio.Event(), asyncio.Event()
    config = PollerConfig(concurrency=8, jitter=0.2, batch_ms=100)
    service = asyncio.create_task(
        serve(
            config,
            snmpd_shared.credentials,
            broker.stage("poller"),
            PARTITIONS,
            stop,
            ready,
            counters=counters,
            inventory_topic=topic,
            inventory_key=KEYS["inventory"],
            log_seconds=2,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 60)
        await results.until(
            lambda: all(len(results.of(p.id)) >= 3 for k, p in pollings.items() if k not in ("orphan", "slow"))
        )
        outcomes = {k: {r.outcome for r in results.of(p.id)} for k, p in pollings.items()}
        assert outcomes["ping"] == outcomes["snmp"] == outcomes["tcp"] == {"ok"}
        assert outcomes["closed"] == {"fail"} and outcomes["bad"] == {"unknown"} and outcomes["orphan"] == set()
        for partition, result in results.results:
            assert partition == partition_for(result.node_id, PARTITIONS)
            assert result.node_name == (local.name if result.node_id == local.id else other.name)
        assert results.of(pollings["snmp"].id)[-1].values["sysUpTime.0"] > 0
        # a polling that never finishes within its interval holds its own slot only: the one-second pollings
        # beside it ran in every slot from their first to their last result
        for key in ("ping", "tcp", "closed"):
            polling = pollings[key]
            phase = schedule.offset(polling.id, 1, config.jitter)
            slots = [math.floor(r.time_ns / 1e9 - phase) for r in results.of(polling.id)]
            assert slots == list(range(slots[0], slots[0] + len(slots))), key

        # inventory changes while running: a node moves, a polling goes, another comes
        moved = Node(id=other.id, name="renamed", ip="127.0.0.3")
        added = a_polling("ping", {"count": "1"}, node_id=other.id, interval_s=1)
        await _publish(broker.admin, topic, moved, added)
        await _publish(broker.admin, topic, pollings["closed"], delete=True)
        await results.until(lambda: len(results.of(added.id)) >= 2)
        assert {r.outcome for r in results.of(added.id)} == {"ok"} and results.of(added.id)[0].node_name == "renamed"
        # The removal follows every result the poller had sent for the node on its partition; count from there.
        await results.until(lambda: any(r.id == pollings["closed"].id for _, r in results.removals))
        deleted_at, later = len(results.of(pollings["closed"].id)), len(results.of(added.id)) + 2
        await results.until(lambda: len(results.of(added.id)) >= later)
        assert len(results.of(pollings["closed"].id)) <= deleted_at + 1, "at most one run already under way"
        partition, removal = next((p, r) for p, r in results.removals if r.id == pollings["closed"].id)
        assert (removal.kind, removal.node_id) == ("polling", other.id)
        assert partition == partition_for(other.id, PARTITIONS), "after the node's results, on its partition"
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        silent.close()
        await results.consumer.stop()
    assert counters.orphaned > 0 and counters.skipped > 0, counters.totals()
    assert counters.published == counters.ok + counters.fail + counters.unknown - counters.dropped
    assert counters.dropped == 0 and counters.inventory_errors == 0
