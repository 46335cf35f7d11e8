"""A batch of raw syslog records mined and encoded for the one insert: the CPU-bound work of the worker,
which may run in the worker itself or in a parse process (processors/syslog/parse_pool.py). Pure but for
the miners it updates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from processors import native_format
from processors.native_format import ColumnTypes
from processors.projector import Record
from processors.syslog.miner import Miner, PatternChange
from processors.syslog.rows import Columns, record_columns

Work = tuple[Record, bool]
"""A record to mine, and whether its rows are to be stored (False: already stored, mined only so that the
miner sees every line once more after a restore from an older snapshot)."""


@dataclass
class Mined:
    """The outcome of mining some records: their rows as Native blocks, and the template changes they made,
    each versioned (µs) by the broker time of the record that made it."""

    payload: bytes = b""
    rows: int = 0
    changes: list[tuple[PatternChange, int]] = field(default_factory=list)

    def extend(self, other: Mined) -> None:
        """Add other's rows and changes (Native blocks concatenate)."""
        self.payload += other.payload
        self.rows += other.rows
        self.changes.extend(other.changes)


BLOCK_ROWS = 8192
"""Rows per Native block: columns are encoded and let go of every so many rows, so a parse process holds
one block of Python values at a time however big its share of a batch is."""


def mine(work: Sequence[Work], miners: Mapping[int, Miner], types: ColumnTypes) -> Mined:
    """Parse and mine every record of work in order with its partition's miner (which must be in miners)."""
    out = Mined()
    blocks: list[bytes] = []
    columns: Columns = {name: [] for name, _ in types}
    for (partition, offset, record_ns, value), store in work:
        miner = miners[partition]
        built = record_columns(value, partition, offset, record_ns, miner)
        out.changes.extend((change, record_ns // 1000) for change in miner.changes())
        if store:
            for name, values in built.items():
                columns[name].extend(values)
            if len(columns["kafka_offset"]) >= BLOCK_ROWS:
                out.rows += _encode(columns, types, blocks)
    out.rows += _encode(columns, types, blocks)
    out.payload = b"".join(blocks)
    return out


def _encode(columns: Columns, types: ColumnTypes, blocks: list[bytes]) -> int:
    """Move columns' rows into blocks as one Native block; returns how many rows it held."""
    rows = len(columns["kafka_offset"])
    if rows:
        blocks.append(native_format.encode(columns, types))
        for values in columns.values():
            values.clear()
    return rows
