"""Decoding SNMP notifications: packets built by pysnmp (an independent encoder), captured from net-snmp's
snmptrap, and garbage. The v1/v2c fast path is pure; the v3 path runs pysnmp's engine in-process.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v1, v2c

from common.snmp.credentials import SnmpCredential
from ingest.traps import ber
from ingest.traps.decode import (
    AUTH,
    COMMUNITY,
    DISCOVERY,
    MALFORMED,
    UNSUPPORTED,
    Accepted,
    Rejected,
    decode,
    peek_version,
    trap_from_pdu,
    v3_security,
)
from ingest.traps.usm import UsmReceiver
from schemas.mib_names import resolve

COMMUNITIES = frozenset({b"public", b"s3cret"})
SOURCE = "192.0.2.7"
UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
ENTERPRISE = (1, 3, 6, 1, 4, 1, 99999)
"""No MIB in the table describes it, so its strings are rendered by content alone."""


def v2c_message(varbinds, pdu_type=v2c.SNMPv2TrapPDU, request_id: int = 7, community: str = "public", head=True):
    pdu = pdu_type()
    v2c.apiTrapPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    prefix = [(UPTIME, v2c.TimeTicks(4242)), (TRAP_OID, v2c.ObjectIdentifier(LINK_DOWN))] if head else []
    v2c.apiPDU.set_varbinds(pdu, prefix + list(varbinds))
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def v1_message(generic: int, specific: int = 0, varbinds=(), community: str = "public") -> bytes:
    pdu = v1.TrapPDU()
    v1.apiTrapPDU.set_defaults(pdu)
    v1.apiTrapPDU.set_enterprise(pdu, (1, 3, 6, 1, 4, 1, 8072, 2, 3))
    v1.apiTrapPDU.set_agent_address(pdu, "10.1.2.3")
    v1.apiTrapPDU.set_generic_trap(pdu, generic)
    v1.apiTrapPDU.set_specific_trap(pdu, specific)
    v1.apiTrapPDU.set_timestamp(pdu, 777)
    v1.apiTrapPDU.set_varbinds(pdu, list(varbinds))
    msg = v1.Message()
    v1.apiMessage.set_defaults(msg)
    v1.apiMessage.set_community(msg, community)
    v1.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def accepted(result: Accepted | Rejected) -> Accepted:
    assert isinstance(result, Accepted), result
    return result


def test_v2c_trap_is_decoded_with_names_types_and_values():
    data = v2c_message(
        [
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), v2c.Integer(2)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2), v2c.OctetString(b"GigabitEthernet0/2")),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 6, 2), v2c.OctetString(b"ABCDEF")),
            ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2), v2c.Counter64(2**64 - 1)),
            ((1, 3, 6, 1, 2, 1, 4, 22, 1, 3, 2, 10, 0, 0, 1), v2c.IpAddress("10.0.0.1")),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 2), v2c.Gauge32(10**9)),
            ((1, 3, 6, 1, 2, 1, 4, 28, 1, 4, 1), v2c.Unsigned32(1000)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 2), v2c.Counter32(4294967295)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 22, 2), v2c.ObjectIdentifier((1, 3, 6, 1, 4, 1, 9))),
        ]
    )
    trap = accepted(decode(data, SOURCE, 123, COMMUNITIES)).trap
    assert (trap.received_ns, trap.source, trap.version, trap.pdu) == (123, SOURCE, "v2c", "trap")
    assert trap.security_name == ""
    assert (trap.trap_oid, trap.trap_name, trap.uptime) == ("1.3.6.1.6.3.1.1.5.3", "IF-MIB::linkDown", 4242)
    assert (trap.enterprise, trap.agent_address, trap.generic_trap, trap.specific_trap) == ("", "", -1, -1)
    assert [(v.name, v.type, v.value) for v in trap.varbinds] == [
        ("IF-MIB::ifIndex.2", "Integer32", "2"),
        ("IF-MIB::ifDescr.2", "OctetString", "GigabitEthernet0/2"),
        ("IF-MIB::ifPhysAddress.2", "OctetString", "41:42:43:44:45:46"),  # a MAC stays hex even when printable
        ("IF-MIB::ifHCInOctets.2", "Counter64", str(2**64 - 1)),
        ("IP-MIB::ipNetToMediaNetAddress.2.10.0.0.1", "IpAddress", "10.0.0.1"),
        ("IF-MIB::ifSpeed.2", "Gauge32", "1000000000"),
        ("IP-MIB::ipv4InterfaceRetransmitTime.1", "Unsigned32", "1000"),  # same tag, named by the MIB syntax
        ("IF-MIB::ifInOctets.2", "Counter32", "4294967295"),
        ("IF-MIB::ifSpecific.2", "ObjectIdentifier", "1.3.6.1.4.1.9"),
    ]
    assert trap.varbinds[0].oid == "1.3.6.1.2.1.2.2.1.1.2"


def test_v2c_special_values_render_empty_with_their_type():
    data = v2c_message(
        [
            ((*ENTERPRISE, 1), rfc1905.noSuchObject),
            ((*ENTERPRISE, 2), rfc1905.noSuchInstance),
            ((*ENTERPRISE, 3), rfc1905.endOfMibView),
            ((*ENTERPRISE, 4), v2c.Null("")),
            ((*ENTERPRISE, 5), v2c.Opaque(b"\x9f\x78\x04")),
        ]
    )
    trap = accepted(decode(data, SOURCE, 1, COMMUNITIES)).trap
    assert [(v.type, v.value) for v in trap.varbinds] == [
        ("noSuchObject", ""),
        ("noSuchInstance", ""),
        ("endOfMibView", ""),
        ("Null", ""),
        ("Opaque", "9f:78:04"),
    ]
    assert trap.varbinds[0].name == "SNMPv2-SMI::enterprises.99999.1"


@pytest.mark.parametrize(
    ("generic", "trap_oid", "trap_name"),
    [
        (0, "1.3.6.1.6.3.1.1.5.1", "SNMPv2-MIB::coldStart"),
        (1, "1.3.6.1.6.3.1.1.5.2", "SNMPv2-MIB::warmStart"),
        (2, "1.3.6.1.6.3.1.1.5.3", "IF-MIB::linkDown"),
        (3, "1.3.6.1.6.3.1.1.5.4", "IF-MIB::linkUp"),
        (4, "1.3.6.1.6.3.1.1.5.5", "SNMPv2-MIB::authenticationFailure"),
        (5, "1.3.6.1.6.3.1.1.5.6", "RFC1213-MIB::egpNeighborLoss"),
    ],
)
def test_v1_generic_traps_translate_per_rfc3584(generic, trap_oid, trap_name):
    data = v1_message(generic, varbinds=[((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), v1.Integer(2))])
    trap = accepted(decode(data, SOURCE, 1, COMMUNITIES)).trap
    assert (trap.version, trap.pdu, trap.trap_oid, trap.trap_name) == ("v1", "trap", trap_oid, trap_name)
    assert (trap.enterprise, trap.agent_address) == ("1.3.6.1.4.1.8072.2.3", "10.1.2.3")
    assert (trap.generic_trap, trap.specific_trap, trap.uptime) == (generic, 0, 777)
    assert [(v.name, v.value) for v in trap.varbinds] == [("IF-MIB::ifIndex.2", "2")]


def test_v1_enterprise_specific_trap_is_enterprise_zero_specific():
    trap = accepted(decode(v1_message(6, 17), SOURCE, 1, COMMUNITIES)).trap
    assert trap.trap_oid == "1.3.6.1.4.1.8072.2.3.0.17"
    assert trap.trap_name == "SNMPv2-SMI::enterprises.8072.2.3.0.17"
    assert (trap.generic_trap, trap.specific_trap, trap.varbinds) == (6, 17, [])


def test_inform_is_decoded_and_answered_with_a_response_of_the_same_request_id_and_varbinds():
    varbinds = [((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), v2c.Integer(2))]
    data = v2c_message(varbinds, community="s3cret", pdu_type=v2c.InformRequestPDU, request_id=123456)
    result = accepted(decode(data, SOURCE, 1, COMMUNITIES))
    assert result.trap.pdu == "inform"
    assert result.response is not None
    response, rest = decoder.decode(result.response, asn1Spec=v2c.Message())
    assert rest == b""
    assert v2c.apiMessage.get_community(response) == b"s3cret"
    pdu = v2c.apiMessage.get_pdu(response)
    assert pdu.tagSet == v2c.GetResponsePDU.tagSet
    assert v2c.apiPDU.get_request_id(pdu) == 123456
    assert v2c.apiPDU.get_error_status(pdu) == 0 and v2c.apiPDU.get_error_index(pdu) == 0
    sent = v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(decoder.decode(data, asn1Spec=v2c.Message())[0]))
    assert [(tuple(o), v.prettyPrint()) for o, v in v2c.apiPDU.get_varbinds(pdu)] == [
        (tuple(o), v.prettyPrint()) for o, v in sent
    ]


def test_trap_gets_no_response():
    assert accepted(decode(v2c_message([]), SOURCE, 1, COMMUNITIES)).response is None


def test_wrong_community_is_rejected_without_naming_it():
    result = decode(v2c_message([], community="guess-me"), SOURCE, 1, COMMUNITIES)
    assert isinstance(result, Rejected) and result.reason == COMMUNITY
    assert "guess-me" not in result.detail
    assert decode(v1_message(0, community="guess-me"), SOURCE, 1, COMMUNITIES).reason == COMMUNITY


def test_non_notifications_are_unsupported():
    get = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(get)
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, "public")
    v2c.apiMessage.set_pdu(msg, get)
    result = decode(encoder.encode(msg), SOURCE, 1, COMMUNITIES)
    assert isinstance(result, Rejected) and result.reason == UNSUPPORTED
    v2_in_v1 = bytearray(v2c_message([]))
    v2_in_v1[4] = 0  # msgVersion 1 (v2c) -> 0 (v1), the PDU stays an SNMPv2-Trap
    assert decode(bytes(v2_in_v1), SOURCE, 1, COMMUNITIES).reason == UNSUPPORTED


def test_v2c_trap_without_uptime_and_trap_oid_first_is_malformed():
    result = decode(v2c_message([(ENTERPRISE, v2c.Integer(1))], head=False), SOURCE, 1, COMMUNITIES)
    assert isinstance(result, Rejected) and result.reason == MALFORMED
    assert "sysUpTime.0" in result.detail


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", MALFORMED),
        (b"\x30", MALFORMED),
        (b"\x30\x84\xff\xff\xff\xff\x02\x01\x01", MALFORMED),
        (b"\x30\x80\x02\x01\x01\x00\x00", MALFORMED),
        (b"\x30\x85\x01\x02\x03\x04\x05\x02\x01\x01", MALFORMED),
        (b"\x3f\x01\x00", MALFORMED),
        (b"\x30\x03\x02\x01\x02", UNSUPPORTED),
        (b"\x30\x03\x02\x01\x03", UNSUPPORTED),
    ],
)
def test_bad_envelopes_are_rejected_with_a_reason(datagram, reason):
    result = decode(datagram, SOURCE, 1, COMMUNITIES)
    assert isinstance(result, Rejected) and result.reason == reason, result


def oid_tlv(oid: tuple[int, ...]) -> bytes:
    return encoder.encode(univ.ObjectIdentifier(oid))


def raw_v2c(*values: bytes, extra: bytes = b"") -> bytes:
    """A v2c trap whose varbinds after the first two carry these raw value TLVs (extra goes into the last)."""
    vbs = [
        ber.tlv(ber.SEQUENCE, oid_tlv(UPTIME) + ber.tlv(0x43, b"\x10\x92")),
        ber.tlv(ber.SEQUENCE, oid_tlv(TRAP_OID) + oid_tlv(LINK_DOWN)),
        *(ber.tlv(ber.SEQUENCE, oid_tlv(ENTERPRISE) + value) for value in values[:-1]),
    ]
    if values:
        vbs.append(ber.tlv(ber.SEQUENCE, oid_tlv(ENTERPRISE) + values[-1] + extra))
    ints = ber.tlv(ber.INTEGER, b"\x07") + ber.tlv(ber.INTEGER, b"\x00") * 2
    pdu = ber.tlv(0xA7, ints + ber.tlv(ber.SEQUENCE, b"".join(vbs)))
    return ber.tlv(ber.SEQUENCE, ber.tlv(ber.INTEGER, b"\x01") + ber.tlv(ber.OCTET_STRING, b"public") + pdu)


def test_raw_builder_makes_what_pysnmp_makes():
    assert raw_v2c(ber.tlv(ber.INTEGER, b"\x05")) == v2c_message([(ENTERPRISE, v2c.Integer(5))])


@pytest.mark.parametrize(
    ("value", "extra", "why"),
    [
        (ber.tlv(0x40, b"\x01\x02\x03"), b"", "IpAddress of 3 bytes"),
        (ber.tlv(ber.INTEGER, b"\x01\x00\x00\x00\x00"), b"", "outside Integer32"),
        (ber.tlv(ber.INTEGER, b""), b"", "empty integer"),
        (ber.tlv(0x41, b"\x01\x00\x00\x00\x00"), b"", "above"),
        (ber.tlv(0x46, b"\x01" + bytes(8)), b"", "above"),
        (ber.tlv(0x47, b"\x01"), b"", "unknown type 0x47"),
        (ber.tlv(0x05, b"\x00"), b"", "Null with content"),
        (ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b\x80\x01"), b"", "leading zero"),
        (ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b\x86"), b"", "ends inside"),
        (ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b\x90\x80\x80\x80\x00"), b"", "above 2^32-1"),
        (ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b" + b"\x01" * 128), b"", "at most 128"),
        (ber.tlv(ber.INTEGER, b"\x01"), ber.tlv(ber.INTEGER, b"\x01"), "more than a name and a value"),
    ],
)
def test_bad_values_are_malformed_with_a_reason(value, extra, why):
    result = decode(raw_v2c(value, extra=extra), SOURCE, 1, COMMUNITIES)
    assert isinstance(result, Rejected) and result.reason == MALFORMED, result
    assert why in result.detail


def test_unsigned_values_without_their_leading_zero_are_read_as_unsigned():
    trap = accepted(decode(raw_v2c(ber.tlv(0x41, b"\xff\xff\xff\xff")), SOURCE, 1, COMMUNITIES)).trap
    assert (trap.varbinds[0].type, trap.varbinds[0].value) == ("Counter32", "4294967295")


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        (b"", ""),
        (b"plain text", "plain text"),
        (b"tab\there\r\nnext", "tab\there\r\nnext"),
        ("ünïcödé ✓".encode(), "ünïcödé ✓"),
        (b"nul\x00inside", "6e:75:6c:00:69:6e:73:69:64:65"),
        (b"\xff\xfe", "ff:fe"),
        (b"\x1b[31m", "1b:5b:33:31:6d"),
    ],
)
def test_octet_strings_are_text_when_printable_else_hex(raw, rendered):
    trap = accepted(decode(v2c_message([(ENTERPRISE, v2c.OctetString(raw))]), SOURCE, 1, COMMUNITIES)).trap
    assert trap.varbinds[0].value == rendered


def _oids() -> st.SearchStrategy[tuple[int, ...]]:
    head = st.tuples(st.integers(0, 2), st.integers(0, 39))
    return st.tuples(head, st.lists(st.integers(0, 2**32 - 1), max_size=20)).map(lambda t: (*t[0], *t[1]))


def _printable(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


VALUES = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(lambda n: (v2c.Integer(n), "Integer32", str(n))),
    st.binary(max_size=40).map(
        lambda b: (v2c.OctetString(b), "OctetString", b.decode() if _printable(b) else b.hex(":"))
    ),
    st.text(max_size=30)
    .map(lambda t: t.encode())
    .map(lambda b: (v2c.OctetString(b), "OctetString", b.decode() if _printable(b) else b.hex(":"))),
    _oids().map(lambda a: (v2c.ObjectIdentifier(a), "ObjectIdentifier", ".".join(map(str, a)))),
    st.ip_addresses(v=4).map(lambda ip: (v2c.IpAddress(str(ip)), "IpAddress", str(ip))),
    st.integers(0, 2**32 - 1).map(lambda n: (v2c.Counter32(n), "Counter32", str(n))),
    st.integers(0, 2**32 - 1).map(lambda n: (v2c.Gauge32(n), "Gauge32", str(n))),
    st.integers(0, 2**32 - 1).map(lambda n: (v2c.TimeTicks(n), "TimeTicks", str(n))),
    st.integers(0, 2**64 - 1).map(lambda n: (v2c.Counter64(n), "Counter64", str(n))),
    st.binary(max_size=20).map(lambda b: (v2c.Opaque(b), "Opaque", b.hex(":"))),
    st.just((v2c.Null(""), "Null", "")),
)


BINARY_SYNTAXES = {
    "PhysAddress",
    "MacAddress",
    "InetAddress",
    "Ipv6AddressIfIdentifierTC",
    "SnmpEngineID",
    "DateAndTime",
}


def _syntax(oid: str) -> str:
    found = resolve(oid)
    return found[0].syntax if found else ""


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(VALUES, max_size=12),
    names=st.lists(_oids(), min_size=12, max_size=12),
    request_id=st.integers(-(2**31), 2**31 - 1),
    inform=st.booleans(),
)
def test_anything_pysnmp_encodes_decodes_to_the_same_varbinds(values, names, request_id, inform):
    """Differential: pysnmp encodes any valid trap or inform; the fast path must read back exactly that."""
    pdu_type = v2c.InformRequestPDU if inform else v2c.SNMPv2TrapPDU
    data = v2c_message([(oid, value) for oid, (value, _, _) in zip(names, values, strict=False)], pdu_type, request_id)
    result = accepted(decode(data, SOURCE, 1, COMMUNITIES))
    expected = []
    for oid, (value, kind, text) in zip(names, values, strict=False):
        dotted = ".".join(map(str, oid))
        syntax = _syntax(dotted)
        if kind == "OctetString" and syntax in BINARY_SYNTAXES:
            text = bytes(value).hex(":")
        if kind == "Gauge32" and syntax == "Unsigned32":
            kind = "Unsigned32"
        expected.append((dotted, kind, text))
    assert [(v.oid, v.type, v.value) for v in result.trap.varbinds] == expected
    assert (result.response is not None) == inform


GOOD = [
    v2c_message([((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), v2c.Integer(2)), (ENTERPRISE, v2c.OctetString(b"x" * 200))]),
    v2c_message([(ENTERPRISE, v2c.Counter64(5))], pdu_type=v2c.InformRequestPDU),
    v1_message(6, 3, [((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), v1.Integer(2))]),
]


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data):
    assert isinstance(decode(data, SOURCE, 1, COMMUNITIES), Accepted | Rejected)
    assert peek_version(data) is None or isinstance(peek_version(data), int)
    assert isinstance(v3_security(data), tuple | Rejected)
    assert isinstance(trap_from_pdu(data, SOURCE, 1, "u"), Accepted | Rejected)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    packet=st.sampled_from(GOOD),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 10_000),
)
def test_mutated_and_truncated_packets_never_raise(packet, edits, cut):
    mutated = bytearray(packet)
    for position, byte in edits:
        mutated[position % len(mutated)] = byte
    for candidate in (bytes(mutated), packet[: cut % len(packet)], bytes(mutated) + packet):
        assert isinstance(decode(candidate, SOURCE, 1, COMMUNITIES), Accepted | Rejected)
    assert decode(packet[: cut % len(packet)], SOURCE, 1, COMMUNITIES).reason == MALFORMED


# SNMPv3: packets from net-snmp's snmptrap (captured on a socket of the test), run through pysnmp's USM.

SNMPTRAP = shutil.which("snmptrap")
needs_snmptrap = pytest.mark.skipif(
    SNMPTRAP is None, reason="net-snmp snmptrap is not installed (apt-get install snmp)"
)
AUTH_PASS, PRIV_PASS = "auth-secret-1", "priv-secret-1"
V3_USERS = [
    SnmpCredential(name="a", mode="v3auth", user="authuser", auth_password=AUTH_PASS),
    SnmpCredential(
        name="p",
        mode="v3authpriv",
        user="privuser",
        auth_password=AUTH_PASS,
        priv_protocol="AES",
        priv_password=PRIV_PASS,
    ),
]
PRIV = ["-u", "privuser", "-l", "authPriv", "-a", "SHA", "-A", AUTH_PASS, "-x", "AES", "-X", PRIV_PASS]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """Run snmptrap against a socket of the test and return the datagram it sent."""
    state = str(tmp_path_factory.mktemp("snmp"))
    env = {"SNMP_PERSISTENT_DIR": state, "SNMPCONFPATH": state, "PATH": "/usr/bin:/bin"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)

        def send(*options: str) -> bytes:
            port = sock.getsockname()[1]
            args = [SNMPTRAP, "-v3", *options, f"127.0.0.1:{port}", "4242", "1.3.6.1.6.3.1.1.5.3"]
            subprocess.run([*args, "1.3.6.1.2.1.2.2.1.1.2", "i", "2"], check=True, env=env, timeout=10)
            return sock.recvfrom(65535)[0]

        yield send


def engine_id() -> str:
    return "0x80001f8805" + uuid.uuid4().hex[:16]


def receiver(max_engines: int = 16) -> tuple[UsmReceiver, list[tuple[bytes, tuple[str, int]]]]:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    return UsmReceiver(V3_USERS, lambda data, address: sent.append((data, address)), max_engines), sent


@needs_snmptrap
def test_v3_auth_and_priv_traps_from_any_engine_id_are_accepted(capture):
    usm, sent = receiver()
    auth = capture("-e", engine_id(), "-u", "authuser", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS)
    priv = capture("-e", engine_id(), *PRIV)
    for data, user in ((auth, "authuser"), (priv, "privuser")):
        trap = accepted(usm.receive(data, SOURCE, (SOURCE, 40000), 9)).trap
        assert (trap.version, trap.pdu, trap.security_name, trap.source, trap.received_ns) == (
            "v3",
            "trap",
            user,
            SOURCE,
            9,
        )
        assert (trap.trap_name, trap.uptime) == ("IF-MIB::linkDown", 4242)
        assert [(v.name, v.value) for v in trap.varbinds] == [("IF-MIB::ifIndex.2", "2")]
    assert usm.learned_engines == 2 and sent == []
    assert accepted(usm.receive(priv, SOURCE, (SOURCE, 40000), 10)).trap.security_name == "privuser"
    assert usm.learned_engines == 2


@needs_snmptrap
def test_v3_bad_credentials_are_auth_rejections_and_leave_no_engine_behind(capture):
    usm, _ = receiver()
    cases = [
        capture(
            "-e",
            engine_id(),
            "-u",
            "privuser",
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            "wrong-password",
            "-x",
            "AES",
            "-X",
            PRIV_PASS,
        ),
        capture(
            "-e",
            engine_id(),
            "-u",
            "privuser",
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            AUTH_PASS,
            "-x",
            "AES",
            "-X",
            "wrong-privacy",
        ),
        capture("-e", engine_id(), "-u", "privuser", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS),
        capture("-e", engine_id(), "-u", "authuser", "-l", "noAuthNoPriv"),
        capture("-e", engine_id(), "-u", "nobody", "-l", "authNoPriv", "-a", "SHA", "-A", AUTH_PASS),
    ]
    for data in cases:
        result = usm.receive(data, SOURCE, (SOURCE, 40000), 1)
        assert isinstance(result, Rejected) and result.reason == AUTH, result
        assert AUTH_PASS not in result.detail and PRIV_PASS not in result.detail
    assert usm.learned_engines == 0


@needs_snmptrap
def test_learned_engine_ids_are_bounded_oldest_first(capture):
    usm, _ = receiver(max_engines=2)
    packets = [capture("-e", engine_id(), *PRIV) for _ in range(3)]
    for data in packets:
        accepted(usm.receive(data, SOURCE, (SOURCE, 40000), 1))
    assert usm.learned_engines == 2
    accepted(usm.receive(packets[0], SOURCE, (SOURCE, 40000), 1))  # evicted, learned again
    assert usm.learned_engines == 2


def test_v3_discovery_probe_is_answered_with_our_engine_id():
    usm, sent = receiver()
    header = ber.tlv(
        ber.SEQUENCE, ber.tlv(2, b"\x01\x02") + ber.tlv(2, b"\x05\xdc") + ber.tlv(4, b"\x04") + ber.tlv(2, b"\x03")
    )
    empty = ber.tlv(4, b"")
    usm_params = ber.tlv(ber.SEQUENCE, empty + ber.tlv(2, b"\x00") + ber.tlv(2, b"\x00") + empty * 3)
    get = ber.tlv(0xA0, ber.tlv(2, b"\x2a") + ber.tlv(2, b"\x00") * 2 + ber.tlv(ber.SEQUENCE, b""))
    scoped = ber.tlv(ber.SEQUENCE, empty + empty + get)
    probe = ber.tlv(ber.SEQUENCE, ber.tlv(2, b"\x03") + header + ber.tlv(4, usm_params) + scoped)
    result = usm.receive(probe, SOURCE, (SOURCE, 40001), 1)
    assert isinstance(result, Rejected) and result.reason == DISCOVERY
    ((report, address),) = sent
    assert address == (SOURCE, 40001)
    engine, _, _ = v3_security(report)  # type: ignore[misc]
    assert engine.hex() == usm.engine_id


@pytest.fixture(scope="module")
def v3_packet(capture) -> bytes:
    return capture("-e", engine_id(), *PRIV)


@pytest.fixture(scope="module")
def fuzz_usm() -> UsmReceiver:
    return receiver()[0]


@needs_snmptrap
@settings(max_examples=150, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(1, 400),
)
def test_mutated_v3_packets_never_raise(v3_packet, fuzz_usm, edits, cut):
    mutated = bytearray(v3_packet)
    for position, byte in edits:
        mutated[position % len(mutated)] = byte
    for candidate in (bytes(mutated), v3_packet[:cut]):
        assert isinstance(fuzz_usm.receive(candidate, SOURCE, (SOURCE, 40000), 1), Accepted | Rejected)
