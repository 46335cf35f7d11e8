"""The spool's on-disk format, pure: how a Kafka record is framed in a segment file, how a torn or damaged
frame is told from a whole one, and how segments and the read position are named.

A frame is a fixed header, the transport's name and the record exactly as it goes to Kafka. The CRC covers
everything after itself, so a frame cut short by a crash, or bytes changed on disk, is never sent: the scan
stops there and says how many bytes it could not use.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib

MAGIC = b"NSP1"
HEADER = struct.Struct("<4sIIIHB")
"""magic, payload length, CRC-32 of the rest, lines in the record, Kafka partition, transport name length."""
MAX_PAYLOAD = 64 * 1024 * 1024
"""Far above a record (ingest batches stay under 1 MiB): a larger length is damage, not data."""
SEGMENT_SUFFIX = ".seg"
SEGMENT_DIGITS = 20
POSITION_FILE = "position"


@dataclasses.dataclass(frozen=True)
class Frame:
    """One record read back from a segment: where it ends in the file, and what to send."""

    end: int
    partition: int
    transport: str
    lines: int
    payload: bytes


@dataclasses.dataclass(frozen=True)
class Scan:
    """The whole frames of a segment from some offset, and the bytes after them that are not a whole frame."""

    frames: list[Frame]
    torn_bytes: int


def frame(partition: int, transport: str, lines: int, payload: bytes) -> bytes:
    """The bytes that hold one record in a segment."""
    name = transport.encode()
    if not 0 <= partition <= 0xFFFF or not 0 < len(name) <= 0xFF or len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record outside the spool's format: partition {partition}, transport {transport!r}")
    crc = zlib.crc32(payload, zlib.crc32(name, zlib.crc32(struct.pack("<IHB", lines, partition, len(name)))))
    return HEADER.pack(MAGIC, len(payload), crc, lines, partition, len(name)) + name + payload


def read_frame(data: bytes | memoryview, offset: int) -> Frame | None:
    """The whole, undamaged frame at offset, or None (short, bad magic, impossible length, CRC mismatch)."""
    if len(data) - offset < HEADER.size:
        return None
    magic, length, crc, lines, partition, name_length = HEADER.unpack_from(data, offset)
    start = offset + HEADER.size
    end = start + name_length + length
    if magic != MAGIC or length > MAX_PAYLOAD or name_length == 0 or end > len(data):
        return None
    name = bytes(data[start : start + name_length])
    payload = bytes(data[start + name_length : end])
    if zlib.crc32(payload, zlib.crc32(name, zlib.crc32(struct.pack("<IHB", lines, partition, name_length)))) != crc:
        return None
    try:
        transport = name.decode()
    except UnicodeDecodeError:
        return None
    return Frame(end, partition, transport, lines, payload)


def scan(data: bytes | memoryview, offset: int = 0) -> Scan:
    """Every whole frame from offset on, stopping at the first that is not whole (a crash's torn last write)."""
    frames: list[Frame] = []
    while offset < len(data):
        found = read_frame(data, offset)
        if found is None:
            break
        frames.append(found)
        offset = found.end
    return Scan(frames, len(data) - offset)


def frame_size(transport: str, payload_bytes: int) -> int:
    return HEADER.size + len(transport.encode()) + payload_bytes


def segment_name(seq: int) -> str:
    """Names sort in write order."""
    return f"{seq:0{SEGMENT_DIGITS}d}{SEGMENT_SUFFIX}"


def segment_seq(name: str) -> int | None:
    """The sequence number of a segment's file name; None for any other file."""
    stem = name.removesuffix(SEGMENT_SUFFIX)
    if stem == name or len(stem) != SEGMENT_DIGITS or not stem.isdigit():
        return None
    return int(stem)


def position_text(seq: int, offset: int) -> str:
    """The read position: in segment seq, every frame before offset was acknowledged by the broker."""
    return f"{seq} {offset}\n"


def parse_position(text: str) -> tuple[int, int] | None:
    """(segment, offset) from position_text; None when the file is not one (then the head is read from 0)."""
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])
