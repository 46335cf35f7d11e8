"""Wire format of the trap topic: decoded SNMP traps and informs, many per Kafka record.

The receiver decodes and names what it can (it holds the MIB table and the USM keys); the community
string and v3 keys never reach the topic. Values keep their SNMP type beside a text rendering.
"""

from __future__ import annotations

import msgspec

WIRE_VERSION = 1


class Varbind(msgspec.Struct, array_like=True, frozen=True):
    """One variable binding, typed."""

    oid: str
    """Dotted numeric OID, e.g. 1.3.6.1.2.1.2.2.1.1.3."""
    name: str
    """Symbolic name from the shipped MIBs with the index kept, e.g. IF-MIB::ifIndex.3; the OID if unknown."""
    type: str
    """SNMP type: Integer32, OctetString, ObjectIdentifier, IpAddress, Counter32, Gauge32, TimeTicks,
    Opaque, Counter64, Unsigned32, Null, noSuchObject, noSuchInstance, endOfMibView."""
    value: str
    """Rendered value: decimal for numbers, dotted for OIDs and addresses, text for printable strings,
    hex (xx:xx:..) for other octet strings."""


class Trap(msgspec.Struct, array_like=True, frozen=True):
    """One notification as received."""

    received_ns: int
    """Receive time, nanoseconds since the epoch (UTC)."""
    source: str
    """Sender IP address (UDP peer)."""
    version: str
    """v1, v2c or v3."""
    pdu: str
    """trap (v1 or v2 trap) or inform (acknowledged by the receiver)."""
    security_name: str
    """v3 user name; empty for v1/v2c (the community is a secret and is not kept)."""
    trap_oid: str
    """snmpTrapOID.0 (v2c/v3), or the v1 trap translated per RFC 3584."""
    trap_name: str
    """Symbolic name of trap_oid, e.g. IF-MIB::linkDown; the OID if unknown."""
    uptime: int
    """sysUpTime.0 of the sender in hundredths of a second (v1: time-stamp)."""
    enterprise: str
    """v1 only: enterprise OID; empty otherwise."""
    agent_address: str
    """v1 only: agent-addr field; empty otherwise."""
    generic_trap: int
    """v1 only: generic-trap (0-6); -1 otherwise."""
    specific_trap: int
    """v1 only: specific-trap; -1 otherwise."""
    varbinds: list[Varbind]
    """The variable bindings after sysUpTime.0 and snmpTrapOID.0."""


class TrapBatch(msgspec.Struct, array_like=True, frozen=True):
    """Traps from one receiver, in receive order."""

    version: int
    traps: list[Trap]

    def __len__(self) -> int:
        return len(self.traps)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(TrapBatch)


def encode(batch: TrapBatch) -> bytes:
    """Serialise a batch for the trap topic."""
    return _encoder.encode(batch)


def decode(data: bytes) -> TrapBatch:
    """Read a batch from the trap topic; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    return _decoder.decode(data)
