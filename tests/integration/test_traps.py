"""The SNMP trap receiver against a real broker, with net-snmp's snmptrap as the sender.

Each test runs ingest.traps.service.serve() on a free port, sends with snmptrap (v1, v2c, v3 authNoPriv
and authPriv, informs that must be answered) or raw sockets for the bad cases, stops it (which drains
to Kafka), then reads the trap topic back and checks decoded fields and names.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from common import kafka_client
from common.config import SnmpConfig
from common.kafka_admin import ensure_topics
from common.kafka_client import KafkaAccess
from common.snmp.credentials import SnmpCredential
from ingest.traps.service import TrapCounters, serve
from schemas.topics import SNMP_TRAPS, partition_for
from schemas.traps import Trap, decode
from tests import brokers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("snmptrap") is None, reason="net-snmp snmptrap is not installed (apt-get install snmp)"
    ),
]

PARTITIONS = 4
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX_2 = "1.3.6.1.2.1.2.2.1.1.2"
IF_DESCR_2 = "1.3.6.1.2.1.2.2.1.2.2"
AUTH_PASS, PRIV_PASS = "auth-secret-1", "priv-secret-1"
CREDENTIALS = {
    "v3-auth": SnmpCredential(name="v3-auth", mode="v3auth", user="authuser", auth_password=AUTH_PASS),
    "v3-priv": SnmpCredential(
        name="v3-priv",
        mode="v3authpriv",
        user="privuser",
        auth_password=AUTH_PASS,
        priv_protocol="AES",
        priv_password=PRIV_PASS,
    ),
    "core-v2": SnmpCredential(name="core-v2", mode="v2c", community="from-credentials"),
}
V3_AUTH = ["-v3", "-u", "authuser", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS]
V3_PRIV = ["-v3", "-u", "privuser", "-l", "authPriv", "-a", "SHA", "-A", AUTH_PASS, "-x", "AES", "-X", PRIV_PASS]

Mark = tuple[dict[int, int], int]


@pytest.fixture
def snmp_env(tmp_path: Path) -> dict[str, str]:
    """snmptrap keeps engine boots and keys under SNMP_PERSISTENT_DIR: one of its own per test."""
    return {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path), "SNMPCONFPATH": str(tmp_path)}


async def _mark(broker: brokers.Cluster) -> Mark:
    kafka = broker.admin
    await ensure_topics(kafka, PARTITIONS, 1)
    admin = kafka_client.admin(kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([SNMP_TRAPS])
    finally:
        await admin.close()
    tps = [TopicPartition(SNMP_TRAPS, p["partition"]) for p in described["partitions"]]
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
    return ends, time.time_ns()


async def _traps_since(kafka: KafkaAccess, mark: Mark, marker: str, expected: int) -> list[tuple[int, Trap]]:
    """(partition, trap) of every trap received after the mark that carries the marker in a varbind value.

    Reads until `expected` are found, then a little longer so a duplicate would show.
    """
    start, since_ns = mark
    consumer = kafka_client.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[int, Trap]] = []
    try:
        tps = [TopicPartition(SNMP_TRAPS, p) for p in start]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start[tp.partition])
        deadline = time.monotonic() + 20
        settle_until = None
        while time.monotonic() < (settle_until or deadline):
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for record in records:
                    for trap in decode(record.value).traps:
                        if trap.received_ns >= since_ns and any(marker in v.value for v in trap.varbinds):
                            found.append((tp.partition, trap))
            if settle_until is None and len(found) >= expected:
                settle_until = time.monotonic() + 0.5
    finally:
        await consumer.stop()
    return found


@contextlib.asynccontextmanager
async def running(broker: brokers.Cluster, **settings: object) -> AsyncIterator[tuple[TrapCounters, int]]:
    """serve() on a fresh port; on exit stops it, so everything it accepted is in Kafka."""
    port = brokers.free_port()
    config = SnmpConfig(**{"trap_port": port, "trap_batch_ms": 20, **settings})  # type: ignore[arg-type]
    counters = TrapCounters()
    stop, ready = asyncio.Event(), asyncio.Event()
    kafka = broker.stage("traps")
    task = asyncio.create_task(serve(config, CREDENTIALS, kafka, PARTITIONS, stop, ready, counters=counters))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiting], timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(task, 20)
        raise AssertionError("serve() did not become ready")
    try:
        yield counters, port
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _snmptrap(env: dict[str, str], port: int, options: list[str], pdu: list[str]) -> subprocess.CompletedProcess:
    """Run snmptrap without blocking the event loop the receiver runs on (informs wait for its answer)."""
    args = ["snmptrap", "-t", "1", "-r", "1", *options, f"udp:127.0.0.1:{port}", *pdu]
    return await asyncio.to_thread(subprocess.run, args, env=env, capture_output=True, text=True, timeout=20)


def _v2_pdu(marker: str, label: str, trap_oid: str = LINK_DOWN) -> list[str]:
    return ["4242", trap_oid, IF_INDEX_2, "i", "2", IF_DESCR_2, "s", f"{marker} {label}"]


def _engine_id() -> str:
    """A fresh sender engine id (enterprise 8072 net-snmp, format 5 octets), so no test sees another's."""
    return "0x80001f8805" + uuid.uuid4().hex[:16]


async def _until(predicate, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_snmptrap_v1_v2c_v3_and_informs_arrive_decoded_and_named(broker, snmp_env):
    mark = await _mark(broker)
    marker = uuid.uuid4().hex
    async with running(broker) as (counters, port):
        sent = [
            ("v1", ["-v1", "-c", "public"], ["1.3.6.1.4.1.8072.2.3", "10.1.2.3", "2", "0", "777"]),
            ("v2c", ["-v2c", "-c", "public"], _v2_pdu(marker, "v2c")),
            ("v3-auth", [*V3_AUTH, "-e", _engine_id()], _v2_pdu(marker, "v3-auth")),
            ("v3-priv", [*V3_PRIV, "-e", _engine_id()], _v2_pdu(marker, "v3-priv")),
            ("inform-v2c", ["-Ci", "-v2c", "-c", "public"], _v2_pdu(marker, "inform-v2c")),
            ("inform-v3", ["-Ci", *V3_PRIV], _v2_pdu(marker, "inform-v3")),
        ]
        for label, options, pdu in sent:
            if label == "v1":
                pdu = [*pdu, IF_INDEX_2, "i", "2", IF_DESCR_2, "s", f"{marker} v1"]
            done = await _snmptrap(snmp_env, port, options, pdu)
            assert done.returncode == 0, (label, done.stderr)
        await _until(lambda: counters.accepted == len(sent), "all traps accepted")
    traps = await _traps_since(broker.admin, mark, marker, len(sent))
    assert len(traps) == len(sent), traps
    by_label = {trap.varbinds[-1].value.split(" ", 1)[1]: (partition, trap) for partition, trap in traps}
    assert sorted(by_label) == sorted(label for label, _, _ in sent)
    for label, (partition, trap) in by_label.items():
        assert trap.source == "127.0.0.1"
        assert partition == partition_for("127.0.0.1", PARTITIONS)
        assert trap.trap_oid == LINK_DOWN and trap.trap_name == "IF-MIB::linkDown", label
        index, descr = trap.varbinds[-2:]
        assert (index.oid, index.name, index.type, index.value) == (IF_INDEX_2, "IF-MIB::ifIndex.2", "Integer32", "2")
        assert (descr.name, descr.type, descr.value) == ("IF-MIB::ifDescr.2", "OctetString", f"{marker} {label}")
    v1 = by_label["v1"][1]
    assert (v1.version, v1.pdu, v1.enterprise, v1.agent_address) == ("v1", "trap", "1.3.6.1.4.1.8072.2.3", "10.1.2.3")
    assert (v1.generic_trap, v1.specific_trap, v1.uptime) == (2, 0, 777)
    v2 = by_label["v2c"][1]
    assert (v2.version, v2.pdu, v2.uptime, v2.security_name, v2.generic_trap) == ("v2c", "trap", 4242, "", -1)
    assert len(v2.varbinds) == 2
    assert (by_label["v3-auth"][1].version, by_label["v3-auth"][1].security_name) == ("v3", "authuser")
    assert (by_label["v3-priv"][1].version, by_label["v3-priv"][1].security_name) == ("v3", "privuser")
    assert (by_label["inform-v2c"][1].pdu, by_label["inform-v3"][1].pdu) == ("inform", "inform")
    assert by_label["inform-v3"][1].security_name == "privuser"
    assert counters.informs_acked == 2
    assert counters.discovery >= 1
    assert counters.delivered == len(sent) and counters.dropped == 0
    assert counters.rejected_community == counters.rejected_auth == counters.malformed == 0


async def test_wrong_community_and_v3_credentials_are_rejected_counted_and_not_published(broker, snmp_env):
    mark = await _mark(broker)
    marker = uuid.uuid4().hex
    wrong_auth = ["-v3", "-u", "privuser", "-l", "authPriv", "-a", "SHA", "-A", "wrong-password"]
    wrong_priv = ["-v3", "-u", "privuser", "-l", "authPriv", "-a", "SHA", "-A", AUTH_PASS, "-x", "AES"]
    bad = [
        ("community", ["-v2c", "-c", "not-the-community"]),
        # A polling credential's community (often read-write) is not a trap community.
        ("credential-community", ["-v2c", "-c", "from-credentials"]),
        (
            "v3-unknown-user",
            ["-v3", "-u", "nobody", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS, "-e", _engine_id()],
        ),
        ("v3-wrong-auth", [*wrong_auth, "-x", "AES", "-X", PRIV_PASS, "-e", _engine_id()]),
        ("v3-wrong-priv", [*wrong_priv, "-X", "wrong-privacy", "-e", _engine_id()]),
        (
            "v3-below-level",
            ["-v3", "-u", "privuser", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS, "-e", _engine_id()],
        ),
        ("v3-no-auth", ["-v3", "-u", "authuser", "-l", "noAuthNoPriv", "-e", _engine_id()]),
    ]
    async with running(broker) as (counters, port):
        for label, options in bad:
            done = await _snmptrap(snmp_env, port, options, _v2_pdu(marker, label))
            assert done.returncode == 0, (label, done.stderr)
        unanswered = ["-Ci", "-t", "0.5", "-r", "0", "-v2c", "-c", "not-the-community"]
        inform = await _snmptrap(snmp_env, port, unanswered, _v2_pdu(marker, "inform"))
        assert inform.returncode != 0, "an inform with a wrong community was answered"
        await _until(lambda: counters.received >= len(bad) + 1, "the bad datagrams")
        good = await _snmptrap(snmp_env, port, ["-v2c", "-c", "public"], _v2_pdu(marker, "good"))
        assert good.returncode == 0, good.stderr
        await _until(lambda: counters.accepted == 1, "the good trap")
    traps = await _traps_since(broker.admin, mark, marker, 1)
    assert [t.varbinds[-1].value for _, t in traps] == [f"{marker} good"]
    assert counters.rejected_community == 3  # the two traps and the inform
    assert counters.rejected_auth == 5
    assert counters.informs_acked == 0 and counters.malformed == 0


async def test_malformed_burst_leaves_the_receiver_running(broker, snmp_env):
    mark = await _mark(broker)
    marker = uuid.uuid4().hex
    rng = random.Random(1162)
    cut = bytes.fromhex("302902010104067075626c6963a71c02020001020100020100")  # a v2c trap cut short
    burst = [rng.randbytes(rng.randrange(1, 600)) for _ in range(200)] + [
        cut,
        cut[:10],
        b"\x30\x84\xff\xff\xff\xff\x02\x01\x01",  # a 4 GiB length
        b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length
        b"\x30\x85\x01\x02\x03\x04\x05\x06",  # a five-byte length
        b"\x30\x03\x02\x01\x03",  # v3 with nothing after the version
        b"\x30\x0b\x02\x01\x03\x30\x06\x02\x01\x01\x02\x01\x01",  # v3 with a truncated header
        b"",
        b"\x30",
    ]
    async with running(broker) as (counters, port):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for datagram in burst:
                sock.sendto(datagram, ("127.0.0.1", port))
        await _until(lambda: counters.received == len(burst), "the burst")
        done = await _snmptrap(snmp_env, port, ["-v2c", "-c", "public"], _v2_pdu(marker, "after"))
        assert done.returncode == 0, done.stderr
        await _until(lambda: counters.accepted == 1, "the good trap after the burst")
    traps = await _traps_since(broker.admin, mark, marker, 1)
    assert [t.varbinds[-1].value for _, t in traps] == [f"{marker} after"]
    rejected = counters.malformed + counters.unsupported + counters.rejected_community + counters.rejected_auth
    assert rejected == len(burst)
    assert counters.malformed >= 9
