"""Wire format of the poll topic: results of scheduled polls, many per Kafka record.

A result carries a copy of the polling definition it ran under (name, node name, kind, level,
thresholds), so the state machine computes the same states when the topic is replayed, whatever the
inventory says by then.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from schemas.inventory import Level, PollKind, Threshold

WIRE_VERSION = 1

Outcome = Literal["ok", "fail", "unknown"]
"""ok: the target answered; fail: it did not (timeout, refused, error status); unknown: netobs could not
poll (bad parameters, missing credential) and says nothing of the target."""


class PollResult(msgspec.Struct, array_like=True, frozen=True):
    """One poll of one polling."""

    polling_id: str
    node_id: str
    polling_name: str
    node_name: str
    kind: PollKind
    level: Level
    thresholds: list[Threshold]
    logging: bool
    time_ns: int
    """When the poll started, nanoseconds since the epoch (UTC)."""
    duration_ns: int
    outcome: Outcome
    values: dict[str, float]
    """Numeric results, typed for polling_log_data, e.g. rtt_ms, loss, ttl, status_code, days_left,
    sysUpTime, ifOperStatus.2. Thresholds refer to these keys."""
    texts: dict[str, str]
    """Other results, e.g. subject, issuer, not_after, answer, error text."""
    error: str
    """Why the outcome is fail or unknown; empty when ok."""


class Removal(msgspec.Struct, array_like=True, frozen=True):
    """A polling or node deleted from the inventory, as the poller saw it: placed in the poll topic so the
    state machine forgets it in stream order, and a replay of this topic alone still gives the same states."""

    kind: Literal["polling", "node"]
    id: str
    node_id: str
    time_ns: int
    """The inventory event's time."""


class PollBatch(msgspec.Struct, array_like=True, frozen=True):
    """Results from one poller, in completion order, and removals (applied after the results)."""

    version: int
    results: list[PollResult]
    removals: list[Removal] = []

    def __len__(self) -> int:
        return len(self.results)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(PollBatch)


def encode(batch: PollBatch) -> bytes:
    """Serialise a batch for the poll topic."""
    return _encoder.encode(batch)


def decode(data: bytes) -> PollBatch:
    """Read a batch from the poll topic; raises ValueError (msgspec errors, bad UTF-8) otherwise."""
    return _decoder.decode(data)
