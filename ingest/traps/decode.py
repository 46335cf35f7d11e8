"""Decoding of received SNMP notifications into schemas.traps.Trap: pure functions, no sockets, no state.

v1 and v2c messages take the fast path here: the community is checked before anything else is read,
then the PDU is walked with ingest.traps.ber (a fraction of pyasn1's cost per trap). SNMPv3 messages need the
USM (keys, time windows, decryption) and go through ingest.traps.usm, which hands the decrypted PDU back
to trap_from_pdu, so every version is rendered by the same code.

Bad input never raises: it comes back as Rejected with a reason the receiver counts and a detail for
its log (never the community).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import msgspec

from common.snmp.text import hex_text, octets_text
from ingest.traps import ber
from ingest.traps.ber import BerError
from schemas.mib_names import name_of, resolve
from schemas.traps import Trap, Varbind

MALFORMED = "malformed"
"""Not a well-formed SNMP notification."""
COMMUNITY = "community"
"""v1/v2c community not accepted."""
AUTH = "auth"
"""v3: unknown user or engine, wrong digest, outside the time window, too low a security level."""
UNSUPPORTED = "unsupported"
"""Well-formed SNMP but not a notification (a get, a response) or a version netobs does not take."""
DISCOVERY = "discovery"
"""v3 engine-id discovery or time synchronisation: answered with a Report, no trap in it."""

V1, V2C, V3 = 0, 1, 3
TRAP_V1 = 0xA4
INFORM = 0xA6
TRAP_V2 = 0xA7
RESPONSE = 0xA2
IP_ADDRESS = 0x40
TIME_TICKS = 0x43
SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAPS = "1.3.6.1.6.3.1.1.5"
"""RFC 3584 3.1: v1 generic trap g (0-5) is snmpTraps.(g+1) in SNMPv2."""
ENTERPRISE_SPECIFIC = 6
CACHE_SIZE = 65_536
"""Distinct varbind names whose decoding is remembered; spoofed traps must not grow memory without bound."""
_MIN_INT32, _MAX_INT32 = -(2**31), 2**31 - 1
_UNSIGNED = {0x41: "Counter32", 0x42: "Gauge32", 0x43: "TimeTicks"}
_COUNTER64 = 0x46
_EMPTY = {0x05: "Null", 0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
_BINARY_SYNTAXES = frozenset(
    {"PhysAddress", "MacAddress", "InetAddress", "Ipv6AddressIfIdentifierTC", "SnmpEngineID", "DateAndTime"}
)
"""Octet strings that are bytes whatever they look like (a MAC of six printable bytes is still a MAC)."""
_ZERO_ERRORS = bytes((ber.INTEGER, 1, 0, ber.INTEGER, 1, 0))
"""error-status 0 and error-index 0 of a Response-PDU."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A datagram that yields no trap: reason is one of the constants above."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """A decoded notification, and for a v1/v2c inform the Response message to send back."""

    trap: Trap
    response: bytes | None = None


def peek_version(datagram: bytes) -> int | None:
    """The msgVersion of an SNMP message (0 v1, 1 v2c, 3 v3), or None if the bytes do not start like one."""
    try:
        start, stop = ber.expect(datagram, 0, len(datagram), ber.SEQUENCE, "message")
        return ber.integer(datagram, *ber.expect(datagram, start, stop, ber.INTEGER, "version"))
    except BerError:
        return None


def decode(datagram: bytes, source: str, received_ns: int, communities: frozenset[bytes]) -> Accepted | Rejected:
    """A v1 Trap-PDU, v2c SNMPv2-Trap or v2c InformRequest message, its community checked first."""
    try:
        return _decode(datagram, source, received_ns, communities)
    except (BerError, ValueError, IndexError) as exc:
        return Rejected(MALFORMED, str(exc))


def trap_from_pdu(pdu: bytes, source: str, received_ns: int, security_name: str) -> Accepted | Rejected:
    """An SNMPv3 notification from its BER-encoded PDU (SNMPv2-Trap or InformRequest), already authenticated."""
    try:
        tag, start, stop = ber.read_tlv(pdu, 0, len(pdu))
        if tag not in (TRAP_V2, INFORM):
            return Rejected(UNSUPPORTED, f"PDU 0x{tag:02x} is not a notification")
        trap, _, _ = _v2_notification(pdu, tag, start, stop, source, received_ns)
        return Accepted(msgspec.structs.replace(trap, version="v3", security_name=security_name))
    except (BerError, ValueError, IndexError) as exc:
        return Rejected(MALFORMED, str(exc))


def v3_security(datagram: bytes) -> tuple[bytes, bytes, int] | Rejected:
    """(msgAuthoritativeEngineID, msgUserName, msgFlags) of a USM-secured v3 message, read without keys."""
    try:
        body, stop = ber.expect(datagram, 0, len(datagram), ber.SEQUENCE, "message")
        _, pos = ber.expect(datagram, body, stop, ber.INTEGER, "msgVersion")
        header, pos = ber.expect(datagram, pos, stop, ber.SEQUENCE, "msgGlobalData")
        _, at = ber.expect(datagram, header, pos, ber.INTEGER, "msgID")
        _, at = ber.expect(datagram, at, pos, ber.INTEGER, "msgMaxSize")
        start, at = ber.expect(datagram, at, pos, ber.OCTET_STRING, "msgFlags")
        if at - start != 1:
            return Rejected(MALFORMED, "msgFlags is not one byte")
        flags = datagram[start]
        model = ber.integer(datagram, *ber.expect(datagram, at, pos, ber.INTEGER, "msgSecurityModel"))
        if model != 3:
            return Rejected(UNSUPPORTED, f"security model {model} (only USM, 3)")
        params, params_end = ber.expect(datagram, pos, stop, ber.OCTET_STRING, "msgSecurityParameters")
        seq, seq_end = ber.expect(datagram, params, params_end, ber.SEQUENCE, "UsmSecurityParameters")
        engine, at = ber.expect(datagram, seq, seq_end, ber.OCTET_STRING, "msgAuthoritativeEngineID")
        engine_id = datagram[engine:at]
        _, at = ber.expect(datagram, at, seq_end, ber.INTEGER, "msgAuthoritativeEngineBoots")
        _, at = ber.expect(datagram, at, seq_end, ber.INTEGER, "msgAuthoritativeEngineTime")
        user, at = ber.expect(datagram, at, seq_end, ber.OCTET_STRING, "msgUserName")
        return engine_id, datagram[user:at], flags
    except BerError as exc:
        return Rejected(MALFORMED, str(exc))


def _decode(datagram: bytes, source: str, received_ns: int, communities: frozenset[bytes]) -> Accepted | Rejected:
    end = len(datagram)
    tag, body, stop = ber.read_tlv(datagram, 0, end)
    if tag != ber.SEQUENCE or stop != end:
        return Rejected(MALFORMED, "not one SNMP message (a SEQUENCE) filling the datagram")
    start, pos = ber.expect(datagram, body, stop, ber.INTEGER, "msgVersion")
    version = ber.integer(datagram, start, pos)
    if version not in (V1, V2C):
        return Rejected(UNSUPPORTED, f"SNMP version {version} on the community path")
    start, pos = ber.expect(datagram, pos, stop, ber.OCTET_STRING, "community")
    if datagram[start:pos] not in communities:
        return Rejected(COMMUNITY, "community not accepted")
    tag, pdu_start, pdu_stop = ber.read_tlv(datagram, pos, stop)
    if pdu_stop != stop:
        return Rejected(MALFORMED, "bytes after the PDU")
    if version == V1 and tag == TRAP_V1:
        return Accepted(_v1_trap(datagram, pdu_start, pdu_stop, source, received_ns))
    if version == V2C and tag in (TRAP_V2, INFORM):
        trap, request_id, varbinds = _v2_notification(datagram, tag, pdu_start, pdu_stop, source, received_ns)
        if tag == TRAP_V2:
            return Accepted(trap)
        head = datagram[body:pos]
        return Accepted(trap, ber.tlv(ber.SEQUENCE, head + ber.tlv(RESPONSE, request_id + _ZERO_ERRORS + varbinds)))
    return Rejected(UNSUPPORTED, f"PDU 0x{tag:02x} in an SNMP {'v1' if version == V1 else 'v2c'} message")


def _v1_trap(data: bytes, pos: int, stop: int, source: str, received_ns: int) -> Trap:
    """RFC 1157 Trap-PDU; trap_oid translated per RFC 3584 3.1."""
    start, pos = ber.expect(data, pos, stop, ber.OBJECT_IDENTIFIER, "enterprise")
    enterprise = ber.oid(data, start, pos)
    start, pos = ber.expect(data, pos, stop, IP_ADDRESS, "agent-addr")
    agent = _ip_address(data, start, pos)
    start, pos = ber.expect(data, pos, stop, ber.INTEGER, "generic-trap")
    generic = ber.integer(data, start, pos)
    start, pos = ber.expect(data, pos, stop, ber.INTEGER, "specific-trap")
    specific = _int32(ber.integer(data, start, pos))
    start, pos = ber.expect(data, pos, stop, TIME_TICKS, "time-stamp")
    uptime = _unsigned(data, start, pos, TIME_TICKS)
    if not 0 <= generic <= ENTERPRISE_SPECIFIC:
        raise BerError(f"generic-trap {generic} outside 0-6")
    start, end = ber.expect(data, pos, stop, ber.SEQUENCE, "variable-bindings")
    if end != stop:
        raise BerError("bytes after the variable-bindings")
    trap_oid = f"{enterprise}.0.{specific}" if generic == ENTERPRISE_SPECIFIC else f"{SNMP_TRAPS}.{generic + 1}"
    return Trap(
        received_ns=received_ns,
        source=source,
        version="v1",
        pdu="trap",
        security_name="",
        trap_oid=trap_oid,
        trap_name=name_of(trap_oid),
        uptime=uptime,
        enterprise=enterprise,
        agent_address=agent,
        generic_trap=generic,
        specific_trap=specific,
        varbinds=_varbinds(data, start, end),
    )


def _v2_notification(
    data: bytes, tag: int, pos: int, stop: int, source: str, received_ns: int
) -> tuple[Trap, bytes, bytes]:
    """RFC 3416 SNMPv2-Trap or InformRequest: the trap, and the request-id and varbind-list TLVs for a Response.

    The first two varbinds must be sysUpTime.0 and snmpTrapOID.0 (RFC 3416 4.2.6); the trap keeps the rest.
    """
    request_at = pos
    _, pos = ber.expect(data, pos, stop, ber.INTEGER, "request-id")
    request_id = data[request_at:pos]
    _, pos = ber.expect(data, pos, stop, ber.INTEGER, "error-status")
    _, pos = ber.expect(data, pos, stop, ber.INTEGER, "error-index")
    list_at = pos
    start, end = ber.expect(data, pos, stop, ber.SEQUENCE, "variable-bindings")
    if end != stop:
        raise BerError("bytes after the variable-bindings")
    varbinds = _varbinds(data, start, end)
    if len(varbinds) < 2 or varbinds[0].oid != SYS_UPTIME_0 or varbinds[1].oid != SNMP_TRAP_OID_0:
        raise BerError("the first two varbinds are not sysUpTime.0 and snmpTrapOID.0")
    uptime, trap_oid = varbinds[0], varbinds[1]
    if uptime.type != "TimeTicks" or trap_oid.type != "ObjectIdentifier":
        raise BerError(f"sysUpTime.0 is {uptime.type}, snmpTrapOID.0 is {trap_oid.type}")
    trap = Trap(
        received_ns=received_ns,
        source=source,
        version="v2c",
        pdu="inform" if tag == INFORM else "trap",
        security_name="",
        trap_oid=trap_oid.value,
        trap_name=name_of(trap_oid.value),
        uptime=int(uptime.value),
        enterprise="",
        agent_address="",
        generic_trap=-1,
        specific_trap=-1,
        varbinds=varbinds[2:],
    )
    return trap, request_id, data[list_at:end]


def _varbinds(data: bytes, pos: int, stop: int) -> list[Varbind]:
    out: list[Varbind] = []
    while pos < stop:
        start, pos = ber.expect(data, pos, stop, ber.SEQUENCE, "varbind")
        name_start, at = ber.expect(data, start, pos, ber.OBJECT_IDENTIFIER, "varbind name")
        oid, name, syntax = _described(data[name_start:at])
        tag, value_start, value_end = ber.read_tlv(data, at, pos)
        if value_end != pos:
            raise BerError(f"varbind {oid} has more than a name and a value")
        out.append(_varbind(oid, name, syntax, tag, data, value_start, value_end))
    return out


@functools.lru_cache(maxsize=CACHE_SIZE)
def _described(encoded: bytes) -> tuple[str, str, str]:
    """(dotted OID, name, MIB syntax) of a BER-encoded varbind name; a trap's names recur, so this is cached."""
    oid = ber.oid(encoded, 0, len(encoded))
    found = resolve(oid)
    if found is None:
        return oid, oid, ""
    row, index = found
    return oid, f"{row.module}::{row.name}{index}", row.syntax


def _varbind(oid: str, name: str, syntax: str, tag: int, data: bytes, start: int, stop: int) -> Varbind:
    """Type and rendering per the Varbind contract; the MIB syntax refines Gauge32/Unsigned32 and binary strings."""
    if tag == ber.OCTET_STRING:
        return Varbind(oid, name, "OctetString", _octets(data[start:stop], syntax))
    if tag == ber.INTEGER:
        return Varbind(oid, name, "Integer32", str(_int32(ber.integer(data, start, stop))))
    if tag == ber.OBJECT_IDENTIFIER:
        return Varbind(oid, name, "ObjectIdentifier", ber.oid(data, start, stop))
    if tag in _UNSIGNED:
        kind = "Unsigned32" if tag == 0x42 and syntax == "Unsigned32" else _UNSIGNED[tag]
        return Varbind(oid, name, kind, str(_unsigned(data, start, stop, tag)))
    if tag == IP_ADDRESS:
        return Varbind(oid, name, "IpAddress", _ip_address(data, start, stop))
    if tag == _COUNTER64:
        return Varbind(oid, name, "Counter64", str(_unsigned(data, start, stop, tag)))
    if tag == 0x44:
        return Varbind(oid, name, "Opaque", hex_text(data[start:stop]))
    if tag in _EMPTY:
        if stop != start:
            raise BerError(f"{_EMPTY[tag]} with content in varbind {oid}")
        return Varbind(oid, name, _EMPTY[tag], "")
    raise BerError(f"varbind {oid} has a value of unknown type 0x{tag:02x}")


def _int32(value: int) -> int:
    if not _MIN_INT32 <= value <= _MAX_INT32:
        raise BerError(f"integer {value} outside Integer32")
    return value


def _unsigned(data: bytes, start: int, stop: int, tag: int) -> int:
    """Counter32/Gauge32/TimeTicks/Counter64, read as unsigned (some agents drop the leading zero byte)."""
    value = ber.integer(data, start, stop, signed=False)
    limit = 2**64 - 1 if tag == _COUNTER64 else 2**32 - 1
    if value > limit:
        raise BerError(f"value {value} above the range of type 0x{tag:02x}")
    return value


def _ip_address(data: bytes, start: int, stop: int) -> str:
    if stop - start != 4:
        raise BerError(f"IpAddress of {stop - start} bytes")
    return "{}.{}.{}.{}".format(*data[start:stop])


def _octets(raw: bytes, syntax: str) -> str:
    """The contract's octets_text, except that a binary MIB syntax is hex even when its bytes look printable."""
    return hex_text(raw) if syntax in _BINARY_SYNTAXES else octets_text(raw)
