"""The little BER that SNMP messages use, read strictly and fast.

pyasn1's schema decoder takes ~350 us for a six-varbind v2c trap here (under 3k traps/s on one core);
walking the TLVs directly takes a small fraction of that. Only definite lengths and one-byte tags exist
in SNMP, so anything else is an error, as is a length that runs past its container. Every function
raises BerError, never anything else, on bad input.
"""

from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
MAX_OID_ARCS = 128
"""RFC 3416: an OID in SNMP has at most 128 sub-identifiers."""
MAX_ARC = 2**32 - 1


class BerError(ValueError):
    """The bytes are not the BER the caller expected; the message says where."""


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at pos, which must lie within [pos, end)."""
    if pos + 2 > end:
        raise BerError(f"truncated at byte {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError(f"multi-byte tag at byte {pos}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0:
            raise BerError(f"indefinite length at byte {pos - 1}")
        if size > 4:
            raise BerError(f"{size}-byte length at byte {pos - 1}")
        if pos + size > end:
            raise BerError(f"truncated length at byte {pos - 1}")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > end:
        raise BerError(f"length {length} at byte {pos} runs past the end ({end})")
    return tag, pos, pos + length


def expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """(content start, content end) of a TLV that must have the given tag."""
    found, start, stop = read_tlv(data, pos, end)
    if found != tag:
        raise BerError(f"{what}: tag 0x{found:02x} where 0x{tag:02x} belongs, at byte {pos}")
    return start, stop


def integer(data: bytes, start: int, stop: int, signed: bool = True) -> int:
    """The integer in content bytes [start, stop); unsigned reading forgives a missing leading zero."""
    if start == stop:
        raise BerError(f"empty integer at byte {start}")
    return int.from_bytes(data[start:stop], "big", signed=signed)


def oid(data: bytes, start: int, stop: int) -> str:
    """The dotted OID in content bytes [start, stop)."""
    content = data[start:stop]
    if not content:
        raise BerError(f"empty OID at byte {start}")
    if content[-1] & 0x80:
        raise BerError(f"OID ends inside a sub-identifier at byte {stop - 1}")
    if max(content) < 0x80:
        arcs = list(content)
    else:
        arcs = []
        value = 0
        fresh = True
        for byte in content:
            if fresh and byte == 0x80:
                raise BerError(f"OID sub-identifier with a leading zero byte near byte {start}")
            value = (value << 7) | (byte & 0x7F)
            if byte & 0x80:
                fresh = False
                continue
            if value > MAX_ARC:
                raise BerError(f"OID sub-identifier {value} above 2^32-1 near byte {start}")
            arcs.append(value)
            value = 0
            fresh = True
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    if len(arcs) + 1 > MAX_OID_ARCS:
        raise BerError(f"OID of {len(arcs) + 1} sub-identifiers (at most {MAX_OID_ARCS}) at byte {start}")
    return f"{head[0]}.{head[1]}." + ".".join(map(str, arcs[1:])) if len(arcs) > 1 else f"{head[0]}.{head[1]}"


def tlv(tag: int, content: bytes) -> bytes:
    """Encode one TLV with a definite, minimal length."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = (n.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + n.to_bytes(size, "big") + content
