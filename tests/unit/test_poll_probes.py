"""The pure parts of the probes: DNS codec, SNMP value handling, HTTP status specs, certificate reading."""

from __future__ import annotations

import datetime
import ipaddress
import struct

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pysnmp.proto import rfc1902, rfc1905

from ingest.pollers import dns, snmp, tls
from ingest.pollers.counters import PollerCounters, quantile, rate_line
from ingest.pollers.http import parse_statuses
from ingest.pollers.probe import BadParam, bool_param, int_param
from ingest.pollers.service import _Record
from schemas import mib_names, polls, raw_syslog

# --- DNS ----------------------------------------------------------------------------------------------


def response(qid: int, question: bytes, answers: list[bytes], rcode: int = 0, flags: int = 0x8180) -> bytes:
    header = struct.pack("!HHHHHH", qid, flags | rcode, 1, len(answers), 0, 0)
    return header + question + b"".join(answers)


def rr(name: bytes, rdtype: int, ttl: int, rdata: bytes) -> bytes:
    return name + struct.pack("!HHIH", rdtype, 1, ttl, len(rdata)) + rdata


def test_query_wire_format():
    query = dns.build_query(0x1234, "www.example.test", dns.RDTYPES["AAAA"])
    assert query[:12] == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    assert query[12:] == b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 28, 1)


def test_names():
    assert dns.encode_name("192.0.2.10") == dns.encode_name("10.2.0.192.in-addr.arpa")
    assert dns.encode_name(".") == b"\x00"
    with pytest.raises(BadParam):
        dns.encode_name("a" * 64 + ".test")
    with pytest.raises(BadParam):
        dns.encode_name(".".join(["abcdefghi"] * 30))
    assert dns.rdtype_number("mx") == 15 and dns.rdtype_number("TYPE99") == 99
    with pytest.raises(BadParam):
        dns.rdtype_number("BOGUS")


def test_parse_answers_with_compression():
    question = b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
    at_question = b"\xc0\x0c"  # pointer to the name at offset 12
    cname_target = b"\x03web" + b"\xc0\x10"  # web + pointer to "example.test" inside the question
    answers = [
        rr(at_question, 5, 300, cname_target),
        rr(b"\x03web\xc0\x10", 1, 60, bytes([192, 0, 2, 10])),
        rr(at_question, 16, 60, b"\x05hello\x06 world"),
        rr(at_question, 15, 60, struct.pack("!H", 10) + b"\x04mail\xc0\x10"),
        rr(at_question, 28, 60, ipaddress.IPv6Address("2001:db8::1").packed),
    ]
    flags, rcode, parsed = dns.parse_response(response(7, question, answers), 7)
    assert rcode == 0 and flags & dns.FLAG_QR
    assert parsed == [
        (5, 300, "web.example.test."),
        (1, 60, "192.0.2.10"),
        (16, 60, "hello world"),
        (15, 60, "10 mail.example.test."),
        (28, 60, "2001:db8::1"),
    ]


def test_malformed_responses_are_refused_not_raised_as_anything_else():
    question = b"\x01a\x00" + struct.pack("!HH", 1, 1)
    with pytest.raises(dns.Malformed):
        dns.parse_response(b"\x00\x07", 7)
    with pytest.raises(dns.Malformed):
        dns.parse_response(response(8, question, []), 7)
    with pytest.raises(dns.Malformed):
        dns.parse_response(response(7, question, [], flags=0x0100), 7)  # a query, not a response
    loop = rr(b"\xc0\x0c", 1, 60, b"\x01\x02\x03\x04")
    looping = response(7, b"\xc0\x0c" + struct.pack("!HH", 1, 1), [loop])  # the question points at itself
    with pytest.raises(dns.Malformed):
        dns.parse_response(looping, 7)
    cut = response(7, question, [rr(b"\xc0\x0c", 1, 60, b"\x01\x02\x03\x04")])[:-2]
    with pytest.raises(dns.Malformed):
        dns.parse_response(cut, 7)
    rcode = dns.parse_response(response(7, question, [], rcode=3), 7)[1]
    assert rcode == 3


# --- SNMP ---------------------------------------------------------------------------------------------


def test_keys_are_mib_names_without_module():
    assert mib_names.short_name("1.3.6.1.2.1.1.3.0") == "sysUpTime.0"
    assert mib_names.short_name("1.3.6.1.2.1.2.2.1.8.2") == "ifOperStatus.2"
    assert mib_names.short_name("1.3.6.1.4.1.99999.1") == "enterprises.99999.1"
    assert mib_names.short_name("1.2.3.4") == "1.2.3.4", "no known prefix: the dotted OID"
    assert snmp.resolve("ifOperStatus.3") == "1.3.6.1.2.1.2.2.1.8.3"
    assert snmp.resolve("1.3.6.1.2.1.1.5.0") == "1.3.6.1.2.1.1.5.0"
    with pytest.raises(BadParam):
        snmp.resolve("noSuchThing.0")


def test_store_puts_numbers_in_values_and_the_rest_in_texts():
    values: dict[str, float] = {}
    texts: dict[str, str] = {}
    rows = [
        ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(12345)),
        ("1.3.6.1.2.1.2.2.1.8.2", rfc1902.Integer32(2)),
        ("1.3.6.1.2.1.2.2.1.10.2", rfc1902.Counter32(4_000_000_000)),
        ("1.3.6.1.2.1.31.1.1.1.6.2", rfc1902.Counter64(2**40)),
        ("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"router-1")),
        ("1.3.6.1.2.1.2.2.1.6.2", rfc1902.OctetString(b"\x02\x00\xc0\xff\xee\x01")),
        ("1.3.6.1.2.1.4.20.1.1.192.0.2.1", rfc1902.IpAddress("192.0.2.1")),
        ("1.3.6.1.2.1.1.2.0", rfc1902.ObjectName("1.3.6.1.4.1.8072.3.2.10")),
        ("1.3.6.1.2.1.1.4.0", rfc1905.NoSuchInstance()),
    ]
    for oid, value in rows:
        snmp.store(values, texts, oid, value)
    assert values == {
        "sysUpTime.0": 12345.0,
        "ifOperStatus.2": 2.0,
        "ifInOctets.2": 4e9,
        "ifHCInOctets.2": float(2**40),
    }
    assert texts["sysName.0"] == "router-1"
    assert texts["ifPhysAddress.2"] == "02:00:c0:ff:ee:01"
    assert texts["ipAdEntAddr.192.0.2.1"] == "192.0.2.1"
    assert texts["sysObjectID.0"] == "1.3.6.1.4.1.8072.3.2.10"
    assert texts["sysContact.0"] == "noSuchInstance"


def test_arp_rows_become_texts():
    rows = [
        (f"{snmp.IP_NET_TO_MEDIA_PHYS}.1.192.0.2.77", b"\x02\x00\xc0\xff\xee\x01"),
        (f"{snmp.IP_NET_TO_MEDIA_PHYS}.4.10.0.0.1", b"\xaa\xbb\xcc\xdd\xee\xff"),
        (f"{snmp.IP_NET_TO_MEDIA_PHYS}.4.10.0.0.2", b""),
        ("1.3.6.1.2.1.4.22.1.3.4.10.0.0.1", b"\x01"),
    ]
    assert snmp.arp_texts(rows) == {"arp:192.0.2.77": "02:00:c0:ff:ee:01", "arp:10.0.0.1": "aa:bb:cc:dd:ee:ff"}


def test_memory_from_hr_storage():
    storage = {"1": {"units": 1024, "size": 1000, "used": 250}, "9": {"units": 4096, "size": 0, "used": 0}}
    assert snmp.memory_values(storage) == {
        "mem_size_bytes": 1024000.0,
        "mem_used_bytes": 256000.0,
        "mem_used_pct": 25.0,
    }
    assert snmp.memory_values({}) == {}


# --- HTTP, TLS, params, counters, wire ----------------------------------------------------------------


def test_status_specs():
    assert parse_statuses("200-399") == [(200, 399)]
    assert parse_statuses("200, 204,301-302") == [(200, 200), (204, 204), (301, 302)]
    for bad in ("ok", "399-200", "700", "200-"):
        with pytest.raises(BadParam):
            parse_statuses(bad)


def test_certificate_description():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netobs.test")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("netobs.test"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    values, texts = tls.describe(cert, start + datetime.timedelta(days=30, hours=12))
    assert values == {"days_left": 59.5}
    assert texts["subject"] == texts["issuer"] == "CN=netobs.test"
    assert texts["serial"] == "abc"
    assert texts["not_after"] == "2025-04-01T00:00:00+00:00"
    assert texts["san"] == "netobs.test,127.0.0.1"


def test_params():
    assert int_param({}, "count", 3, 1, 10) == 3
    assert int_param({"count": " 5 "}, "count", 3, 1, 10) == 5
    for bad in ("x", "0", "11"):
        with pytest.raises(BadParam, match="count"):
            int_param({"count": bad}, "count", 3, 1, 10)
    assert bool_param({"arp": "Yes"}, "arp", False) is True
    assert bool_param({}, "arp", False) is False
    with pytest.raises(BadParam):
        bool_param({"arp": "maybe"}, "arp", False)


def test_lateness_counts_and_line():
    counters = PollerCounters()
    counters.started(0.1, 10)
    counters.started(0.6, 10)
    counters.outcome("ok")
    counters.outcome("fail")
    assert (counters.run, counters.late, counters.ok, counters.fail) == (2, 1, 1, 1)
    lateness = counters.take_lateness()
    assert lateness == [0.1, 0.6] and not counters.lateness
    assert quantile(lateness, 0.5) == 0.1 and quantile(lateness, 0.99) == 0.6
    line = rate_line(counters.totals(), PollerCounters().totals(), 2.0, lateness)
    assert "run 2 (1.0/s)" in line and "late 1" in line and "p99 0.600s" in line


def test_sink_record_encodes_as_a_poll_batch():
    result = polls.PollResult("p1", "n1", "ping", "node", "ping", "low", [], True, 1, 2, "ok", {"rtt_ms": 0.5}, {}, "")
    record = _Record(polls.WIRE_VERSION, [result])
    assert record.transport == "poll" and len(record) == 1
    sent = raw_syslog.encode(record)  # what KafkaSink calls on every record
    assert sent == polls.encode(polls.PollBatch(polls.WIRE_VERSION, [result]))
    assert polls.decode(sent) == polls.PollBatch(polls.WIRE_VERSION, [result])
