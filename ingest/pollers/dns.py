"""DNS probe: one query for a name and record type to one server, over UDP (TCP when truncated).

A small RFC 1035 codec of our own instead of dnspython: a monitoring query needs one question and the
answer section read back, which is a page of code, not a dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import struct
import time
from collections.abc import Mapping

from ingest.pollers.probe import BadParam, Measurement, fail, ms_since, ok, os_error, port_param

RDTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
RDTYPE_NAMES = {number: name for name, number in RDTYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
FLAG_QR, FLAG_TC, FLAG_RD = 0x8000, 0x0200, 0x0100
MAX_POINTERS = 64
"""Compression pointers followed in one name before the message is called malformed (no loops)."""


class Malformed(ValueError):
    """A response that is not a DNS message answering our query."""


def rdtype_number(rdtype: str) -> int:
    """A, AAAA, MX, ... or TYPEnnn (RFC 3597)."""
    name = rdtype.strip().upper() or "A"
    if name in RDTYPES:
        return RDTYPES[name]
    if name.startswith("TYPE") and name[4:].isdigit() and 0 < int(name[4:]) < 65536:
        return int(name[4:])
    raise BadParam(f"param rdtype: one of {sorted(RDTYPES)} or TYPEnnn, got {rdtype!r}")


def _rdtype_name(rdtype: int) -> str:
    return RDTYPE_NAMES.get(rdtype, f"TYPE{rdtype}")


def encode_name(name: str) -> bytes:
    """A domain name in wire format; an IPv4/IPv6 address becomes its reverse (PTR) name."""
    with contextlib.suppress(ValueError):
        name = ipaddress.ip_address(name).reverse_pointer
    labels = [label for label in name.rstrip(".").split(".") if label] if name.strip(".") else []
    out = bytearray()
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if len(raw) > 63:
            raise BadParam(f"param name: label {label!r} is longer than 63 bytes")
        out += bytes([len(raw)]) + raw
    out += b"\0"
    if len(out) > 255:
        raise BadParam("param name: longer than 255 bytes")
    return bytes(out)


def build_query(qid: int, name: str, rdtype: int) -> bytes:
    """One question, recursion desired, class IN."""
    return _HEADER.pack(qid, FLAG_RD, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", rdtype, 1)


def parse_response(data: bytes, qid: int) -> tuple[int, int, list[tuple[int, int, str]]]:
    """(flags, rcode, answers as (rdtype, ttl, text)) of a response to query qid; Malformed otherwise."""
    if len(data) < _HEADER.size:
        raise Malformed("shorter than a DNS header")
    rid, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(data)
    if rid != qid or not flags & FLAG_QR:
        raise Malformed("not a response to our query")
    offset = _HEADER.size
    for _ in range(qdcount):
        _, offset = read_name(data, offset)
        offset += 4
    answers = []
    for _ in range(ancount):
        _, offset = read_name(data, offset)
        if offset + _RR.size > len(data):
            raise Malformed("answer record cut short")
        rdtype, _, ttl, length = _RR.unpack_from(data, offset)
        offset += _RR.size
        if offset + length > len(data):
            raise Malformed("record data cut short")
        answers.append((rdtype, ttl, _rdata_text(data, offset, length, rdtype)))
        offset += length
    return flags, flags & 0xF, answers


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at offset (following compression pointers) and the offset just after it."""
    labels: list[str] = []
    end = -1
    for _ in range(MAX_POINTERS):
        if offset >= len(data):
            raise Malformed("name runs past the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise Malformed("pointer runs past the message")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length == 0:
            return ".".join(labels) + ".", end if end >= 0 else offset + 1
        labels.append(data[offset + 1 : offset + 1 + length].decode("ascii", "backslashreplace"))
        offset += 1 + length
    raise Malformed("too many compression pointers")


def _rdata_text(data: bytes, offset: int, length: int, rdtype: int) -> str:
    rdata = data[offset : offset + length]
    try:
        if rdtype == RDTYPES["A"] and length == 4:
            return str(ipaddress.IPv4Address(rdata))
        if rdtype == RDTYPES["AAAA"] and length == 16:
            return str(ipaddress.IPv6Address(rdata))
        if rdtype in (RDTYPES["CNAME"], RDTYPES["NS"], RDTYPES["PTR"]):
            return read_name(data, offset)[0]
        if rdtype == RDTYPES["MX"]:
            return f"{struct.unpack_from('!H', data, offset)[0]} {read_name(data, offset + 2)[0]}"
        if rdtype == RDTYPES["SRV"]:
            priority, weight, port = struct.unpack_from("!HHH", data, offset)
            return f"{priority} {weight} {port} {read_name(data, offset + 6)[0]}"
        if rdtype == RDTYPES["TXT"]:
            parts, at = [], 0
            while at < length:
                size = rdata[at]
                parts.append(rdata[at + 1 : at + 1 + size].decode("utf-8", "backslashreplace"))
                at += 1 + size
            return "".join(parts)
        if rdtype == RDTYPES["SOA"]:
            mname, at = read_name(data, offset)
            rname, at = read_name(data, at)
            return " ".join([mname, rname, *map(str, struct.unpack_from("!IIIII", data, at))])
    except (struct.error, IndexError):
        raise Malformed(f"bad {_rdtype_name(rdtype)} record") from None
    return rdata.hex()


async def probe(ip: str, params: Mapping[str, str], timeout: float) -> Measurement:
    """Ask server (param server, default the node's IP; port 53) for name (required) and rdtype (A).

    ok when the answer is NOERROR with at least one record. values rtt_ms, rcode, answers, ttl (the
    smallest); texts answer (records joined with ", "), rcode.
    """
    name = params.get("name", "").strip()
    if not name:
        raise BadParam("param name: required for a dns polling")
    rdtype = rdtype_number(params.get("rdtype", "A"))
    server = params.get("server", "").strip() or ip
    try:
        ipaddress.ip_address(server)
    except ValueError:
        raise BadParam(f"param server: an IP address, got {server!r}") from None
    port = port_param(params, 53)
    qid = random.getrandbits(16)
    query = build_query(qid, name, rdtype)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            data = await _ask_udp(server, port, query)
            flags, rcode, answers = parse_response(data, qid)
            if flags & FLAG_TC:
                data = await _ask_tcp(server, port, query)
                flags, rcode, answers = parse_response(data, qid)
    except TimeoutError:
        return fail(f"no answer from {server}:{port} within {timeout:g}s")
    except Malformed as exc:
        return fail(f"malformed answer from {server}:{port}: {exc}")
    except OSError as exc:
        return fail(f"{server}:{port}: {os_error(exc)}")
    values = {
        "rtt_ms": ms_since(started, time.perf_counter()),
        "rcode": float(rcode),
        "answers": float(len(answers)),
    }
    if answers:
        values["ttl"] = float(min(ttl for _, ttl, _ in answers))
    texts = {"rcode": RCODES.get(rcode, str(rcode)), "answer": ", ".join(text for _, _, text in answers)}
    if rcode != 0:
        return fail(f"{name} {_rdtype_name(rdtype)}: {texts['rcode']}", values, texts)
    if not answers:
        return fail(f"{name} {_rdtype_name(rdtype)}: no records", values, texts)
    return ok(values, texts)


class _Answer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _ask_udp(server: str, port: int, query: bytes) -> bytes:
    """Send the query from a socket connected to the server, so only the server's reply is read."""
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(_Answer, remote_addr=(server, port))
    try:
        transport.sendto(query)
        return await protocol.reply
    finally:
        transport.close()


async def _ask_tcp(server: str, port: int, query: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server, port)
    try:
        writer.write(struct.pack("!H", len(query)) + query)
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise Malformed("TCP answer cut short") from exc
    finally:
        writer.close()
