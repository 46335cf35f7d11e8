"""The pure parts of executor.snmp: values to set, explicit credentials, and how results read.

Set values are checked by their BER encoding: the tag is what tells the agent the type.
"""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import rfc1902, rfc1905

from executor.snmp import SET_TYPES, credential_for, row, set_value
from schemas.command_args import SET_TYPES as ARG_SET_TYPES

TAGS = {"integer": 0x02, "string": 0x04, "oid": 0x06, "ipaddress": 0x40, "counter32": 0x41, "gauge32": 0x42}
TAGS["timeticks"] = 0x43


def test_the_set_types_are_the_ones_the_mcp_service_accepts() -> None:
    assert SET_TYPES == ARG_SET_TYPES == tuple(TAGS)


@pytest.mark.parametrize(
    ("set_type", "text", "encoded"),
    [
        ("integer", "-2147483647", bytes.fromhex("020480000001")),
        ("integer", "2147483647", bytes.fromhex("02047fffffff")),
        ("Integer", "0x2a", bytes.fromhex("02012a")),
        ("counter32", "4294967295", bytes.fromhex("410500ffffffff")),
        ("GAUGE32", "0", bytes.fromhex("420100")),
        ("timeticks", "100", bytes.fromhex("430164")),
        ("ipaddress", "192.0.2.1", bytes.fromhex("4004c0000201")),
        ("oid", "1.3.6.1.4.1.8072", bytes.fromhex("06072b06010401bf08")),
        ("oid", ".1.3.6.1", bytes.fromhex("06032b0601")),
        ("string", "", bytes.fromhex("0400")),
        ("string", "Tōkyō", b"\x04\x07" + "Tōkyō".encode()),
    ],
)
def test_set_value_encodes_with_the_type_asked_for(set_type: str, text: str, encoded: bytes) -> None:
    value = set_value(set_type, text)
    assert encoder.encode(value) == encoded
    assert encoded[0] == TAGS[set_type.lower()]


@pytest.mark.parametrize(("set_type", "text"), [("integer", "-2147483648"), ("timeticks", "4294967295")])
def test_the_bounds_decode_back(set_type: str, text: str) -> None:
    """pyasn1 0.6 encodes -2**31 in five bytes (not minimal, but BER decoders, net-snmp's too, read it)."""
    value = set_value(set_type, text)
    decoded, rest = decoder.decode(encoder.encode(value), asn1Spec=type(value)())
    assert (int(decoded), rest) == (int(text), b"")


def test_the_longest_string() -> None:
    assert len(set_value("string", "é" * (65535 // 2)).asOctets()) == 65534
    with pytest.raises(ValueError, match="string takes at most 65535 bytes of UTF-8, got 65536"):
        set_value("string", "é" * 32768)
    with pytest.raises(ValueError, match="UTF-8 cannot encode"):
        set_value("string", "\udc80")


@pytest.mark.parametrize(
    ("set_type", "text", "message"),
    [
        ("integer", "2147483648", r"integer takes an integer -2147483648\.\.2147483647, got '2147483648'"),
        ("integer", "-2147483649", r"integer takes an integer -2147483648\.\.2147483647"),
        ("integer", "seven", r"integer takes an integer .*'seven'"),
        ("integer", "1.5", "integer takes an integer"),
        ("integer", "", "integer takes an integer"),
        ("counter32", "-1", r"counter32 takes an integer 0\.\.4294967295, got '-1'"),
        ("gauge32", "4294967296", r"gauge32 takes an integer 0\.\.4294967295"),
        ("timeticks", "1e3", r"timeticks takes an integer 0\.\.4294967295"),
        ("ipaddress", "256.0.0.1", "ipaddress takes a dotted IPv4 address"),
        ("ipaddress", "2001:db8::1", "ipaddress takes a dotted IPv4 address"),
        ("ipaddress", "", "ipaddress takes a dotted IPv4 address"),
        ("oid", "sysContact.0", "oid takes a dotted numeric OID"),
        ("oid", "1", "oid takes a dotted numeric OID"),
        ("oid", "1..3", "oid takes a dotted numeric OID"),
        ("oid", "3.1", "oid takes a dotted numeric OID"),
        ("oid", "1.40.1", "second arc is below 40"),
        ("oid", "1.٣.6", "oid takes a dotted numeric OID"),
        ("octets", "00", "type is one of integer, string, oid, ipaddress, counter32, gauge32, timeticks, got 'octets'"),
    ],
)
def test_set_value_refuses_what_does_not_fit(set_type: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        set_value(set_type, text)


def test_credential_for_follows_twsnmp_snmp_modes() -> None:
    v2c = credential_for("v2c", "s3cret-community", "ignored", "")
    assert (v2c.mode, v2c.community, v2c.is_v3) == ("v2c", "s3cret-community", False)

    auth = credential_for("v3auth", "", "ops", "password-1")
    assert (auth.user, auth.auth_protocol, auth.auth_password, auth.priv_protocol) == ("ops", "SHA", "password-1", "")

    priv = credential_for("V3AuthPriv", "", "ops", "password-1")
    assert (priv.mode, priv.auth_protocol, priv.priv_protocol) == ("v3authpriv", "SHA", "AES")
    assert priv.auth_password == priv.priv_password == "password-1"

    ex = credential_for("v3authprivex", "", "ops", "password-1")
    assert (ex.auth_protocol, ex.priv_protocol, ex.priv_password) == ("SHA256", "AES256", "password-1")
    assert "password-1" not in repr(ex) and "s3cret" not in repr(v2c)


@pytest.mark.parametrize(
    ("mode", "community", "user", "password", "message"),
    [
        ("v2c", "", "", "", "community: required with snmp_mode v2c"),
        ("v3auth", "", "", "password-1", "user: required with snmp_mode v3auth"),
        ("v3authpriv", "", "ops", "", "password: required with snmp_mode v3authpriv, at least 8 characters"),
        ("v3authprivex", "", "ops", "1234567", "password: required .* at least 8 characters"),
        ("v1", "public", "", "", "snmp_mode is one of v2c, v3auth, v3authpriv, v3authprivex, got 'v1'"),
    ],
)
def test_credential_for_names_what_is_missing(
    mode: str, community: str, user: str, password: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        credential_for(mode, community, user, password)
    assert not password or password not in str(refused.value)


@pytest.mark.parametrize(
    ("oid", "value", "expected"),
    [
        (
            "1.3.6.1.2.1.1.4.0",
            rfc1902.OctetString(b"ops@example.net"),
            ("sysContact.0", "OctetString", "ops@example.net"),
        ),
        ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(4711), ("sysUpTime.0", "TimeTicks", "4711")),
        ("1.3.6.1.2.1.2.2.1.7.3", rfc1902.Integer(2), ("ifAdminStatus.3", "Integer", "2")),
        ("1.3.6.1.2.1.2.2.1.7.3", rfc1902.Integer32(-5), ("ifAdminStatus.3", "Integer", "-5")),
        ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Gauge32(10**9), ("ifSpeed.1", "Gauge32", "1000000000")),
        ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Unsigned32(7), ("ifSpeed.1", "Gauge32", "7")),
        ("1.3.6.1.2.1.2.2.1.10.1", rfc1902.Counter32(2**32 - 1), ("ifInOctets.1", "Counter32", "4294967295")),
        ("1.3.6.1.2.1.31.1.1.1.6.1", rfc1902.Counter64(2**64 - 1), ("ifHCInOctets.1", "Counter64", str(2**64 - 1))),
        (
            "1.3.6.1.2.1.4.20.1.1.10.0.0.1",
            rfc1902.IpAddress("10.0.0.1"),
            ("ipAdEntAddr.10.0.0.1", "IpAddress", "10.0.0.1"),
        ),
        (
            "1.3.6.1.2.1.1.2.0",
            rfc1902.ObjectName("1.3.6.1.4.1.8072"),
            ("sysObjectID.0", "ObjectIdentifier", "1.3.6.1.4.1.8072"),
        ),
        (
            "1.3.6.1.2.1.2.2.1.6.2",
            rfc1902.OctetString(b"\x02\x00\xc0\xff\xee\x01"),
            ("ifPhysAddress.2", "OctetString", "02:00:c0:ff:ee:01"),
        ),
        ("1.3.6.1.2.1.1.99.0", rfc1905.noSuchObject, ("system.99.0", "noSuchObject", "noSuchObject")),
        ("1.3.6.1.2.1.1.4.1", rfc1905.noSuchInstance, ("sysContact.1", "noSuchInstance", "noSuchInstance")),
        ("1.3.6.1.4.1.99999.7", rfc1902.Opaque(b"\x9f\x78\x04"), ("enterprises.99999.7", "Opaque", "9f:78:04")),
    ],
)
def test_rows_read_without_knowing_snmp(oid: str, value: object, expected: tuple[str, str, str]) -> None:
    name, kind, text = expected
    assert row(rfc1902.ObjectName(oid), value) == {"Name": name, "OID": oid, "Type": kind, "Value": text}
