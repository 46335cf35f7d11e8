"""common.snmp.text: how an OCTET STRING reads as text, and that the trap receiver, the SNMP poller and the
SNMP actions all render it that way (trap bytes encoded by pysnmp, an independent encoder).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import encoder
from pysnmp.proto import rfc1902
from pysnmp.proto.api import v2c

from common.snmp.text import hex_text, octets_text
from executor.snmp import row
from ingest.pollers.snmp import store
from ingest.traps.decode import Accepted, decode

UNNAMED = "1.3.6.1.4.1.99999.1.0"
"""An OID with no MIB syntax, so the trap receiver applies the plain rule."""


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"plain text", "plain text"),
        ("rack 3\tTōkyō\r\n".encode(), "rack 3\tTōkyō\r\n"),
        (b"abcdef", "abcdef"),
        (b"\xff\xfe", "ff:fe"),
        (b"abc\x00", "61:62:63:00"),
        (b"\x1b[31m", "1b:5b:33:31:6d"),
        (b"\x02\x00\xc0\xff\xee\x01", "02:00:c0:ff:ee:01"),
    ],
)
def test_octets_are_text_when_printable_utf8_else_hex(raw: bytes, text: str) -> None:
    assert octets_text(raw) == text


def test_hex_is_lower_case_bytes_joined_by_colons() -> None:
    assert hex_text(b"") == ""
    assert hex_text(b"\x0a") == "0a"
    assert hex_text(b"\x02\x00\xc0\xff\xee\x01") == "02:00:c0:ff:ee:01"


@given(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_text_is_the_bytes_themselves_or_their_hex(raw: bytes) -> None:
    text = octets_text(raw)
    try:
        readable = raw.decode("utf-8")
    except UnicodeDecodeError:
        readable = None
    if readable is not None and all(c.isprintable() or c in "\t\r\n" for c in readable):
        assert text == readable
    else:
        assert text == hex_text(raw)
        assert bytes.fromhex(text.replace(":", "")) == raw


@given(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_traps_polls_and_actions_render_an_octet_string_alike(raw: bytes) -> None:
    texts: dict[str, str] = {}
    store({}, texts, UNNAMED, rfc1902.OctetString(raw))
    assert list(texts.values()) == [octets_text(raw)]
    assert row(UNNAMED, rfc1902.OctetString(raw))["Value"] == octets_text(raw)
    result = decode(_trap_with(raw), "192.0.2.7", 1, frozenset({b"public"}))
    assert isinstance(result, Accepted), result
    assert result.trap.varbinds[0].value == octets_text(raw)


def _trap_with(raw: bytes) -> bytes:
    pdu = v2c.SNMPv2TrapPDU()
    v2c.apiTrapPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(
        pdu,
        [
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(42)),
            ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), v2c.ObjectIdentifier((1, 3, 6, 1, 6, 3, 1, 1, 5, 3))),
            (tuple(int(a) for a in UNNAMED.split(".")), v2c.OctetString(raw)),
        ],
    )
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, "public")
    v2c.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)
