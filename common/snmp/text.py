"""How an SNMP OCTET STRING, and any other SNMP value pysnmp decoded, is written as text in every record and result.

Trap varbinds, poll texts and SNMP action results all show octet strings the same way, so a value read
from one can be compared with, or searched for in, another: that rendering is part of the contract. Trap
decoding, which knows each varbind's MIB syntax, also writes binary syntaxes (PhysAddress, DateAndTime, ...)
as hex_text when their bytes happen to be printable. Poll texts and action results write every value
pysnmp decoded with value_text.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pyasn1.type import univ
from pysnmp.proto import rfc1902


def value_text(value: Any) -> str:
    """Numbers (TimeTicks too) in decimal, addresses and OIDs dotted, printable UTF-8 as is, other bytes in hex."""
    if isinstance(value, rfc1902.IpAddress):
        raw = bytes(value.asOctets())
        return str(ipaddress.IPv4Address(raw)) if len(raw) == 4 else hex_text(raw)
    if isinstance(value, univ.Integer):
        return str(int(value))
    if isinstance(value, univ.OctetString):
        return octets_text(bytes(value.asOctets()))
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    return str(value.prettyPrint())


def octets_text(raw: bytes) -> str:
    """Printable UTF-8 (tabs and line breaks allowed) as text, anything else (MACs, binary) as hex_text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return hex_text(raw)
    # isprintable() first: the usual all-printable text is checked without a Python loop per character
    if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
        return text
    return hex_text(raw)


def hex_text(raw: bytes) -> str:
    """Lower-case hex bytes joined by colons ("02:00:c0:ff:ee:01"), empty for no bytes."""
    return raw.hex(":")
