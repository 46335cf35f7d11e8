"""Wire format of the raw syslog topic: one Kafka record carries a batch of lines, column by column.

Columns instead of one object per line keep the per-line cost low on both sides (msgpack via msgspec).
The lines stay bytes exactly as received: decoding and parsing belong to the processors, so nothing a
sender wrote is lost before it is stored.
"""

from __future__ import annotations

import enum

import msgspec

WIRE_VERSION = 1


class LineFlag(enum.IntFlag):
    """What the receiver noticed about a line; stored as ingest_flags."""

    NONE = 0
    TRUNCATED = 1
    """The connection closed before the frame was complete: the partial frame is kept."""
    OVERSIZED = 2
    """Longer than the receiver's line limit: split into pieces of the limit, each kept."""
    FRAMING = 4
    """An octet-counting frame whose length prefix could not be used; the bytes are kept as a line."""


class RawBatch(msgspec.Struct, array_like=True, frozen=True):
    """Lines from one receiver: column i of every list describes line i."""

    version: int
    transport: str
    """udp, tcp or tls."""
    received_ns: list[int]
    """Receive time, nanoseconds since the epoch (UTC)."""
    sources: list[str]
    """Sender IP address."""
    lines: list[bytes]
    """The line as received, without its framing (newline or octet count)."""
    flags: list[int]
    """LineFlag bits."""

    def __len__(self) -> int:
        return len(self.lines)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(RawBatch)


def encode(batch: RawBatch) -> bytes:
    """Serialise a batch for the raw topic."""
    return _encoder.encode(batch)


def decode(data: bytes) -> RawBatch:
    """Read a batch from the raw topic; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    batch = _decoder.decode(data)
    n = len(batch.lines)
    if not (len(batch.received_ns) == len(batch.sources) == len(batch.flags) == n):
        raise msgspec.ValidationError("raw syslog batch with columns of different lengths")
    return batch
