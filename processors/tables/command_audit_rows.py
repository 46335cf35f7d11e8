"""Command steps -> command_audit rows, and the insert that chains them.

The builder is pure: one row per Step, with seq, prev_hash and hash left to the insert. Only the insert
knows where the chain stands (the table's last row), so it stamps each batch in topic order, continuing
after that row: seq counts up by one, prev_hash is the hash of the row before, hash is
audit_chain.chain_hash(prev_hash, chained_fields(row)). The first row of an empty table chains on GENESIS.

A step whose signature does not verify (common.signing.step_refusal: not signed by the executor, nor a denial
signed by the MCP service) is not projected as what it claims: its row has step "refused" and a reason naming
why and what it claimed, so the refusal is audited, and `netobs audit verify` names the row (it carries no
valid signature). A record that does not decode gives no row (None): the projector logs it and moves on.
It is not in the chain at all, so it cannot break it: seq is given at insert time to the rows that are stored, and stays
continuous across the skipped record.

What a hash covers (chained_fields) is exactly what `netobs audit verify` reads back from ClickHouse: time as
integer nanoseconds since the epoch (the DateTime64(9) column holds them exactly, and
toUnixTimestamp64Nano returns them; a Python datetime would drop the last three digits), the rest as the
strings stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.audit_chain import GENESIS, chain_hash, chained_fields
from common.signing import step_refusal
from processors import clickhouse_writer
from processors.projector import Row
from processors.tables.column_values import bounded
from schemas import commands
from schemas.tables import COMMAND_AUDIT_CHAINED

INT64 = (-(2**63), 2**63 - 1)
"""DateTime64(9) stores nanoseconds in an Int64: a time outside it would make ClickHouse refuse the batch."""


def record_rows(value: bytes, partition: int, offset: int, steps_key: bytes, mcp_key: bytes) -> list[Row] | None:
    """The step's row, unstamped (seq None, hashes empty), or its refusal's; None when it is not a Step.
    steps_key and mcp_key are the steps and MCP audit keys its signature is checked with."""
    try:
        step = commands.decode_step(value)
    except ValueError:  # msgspec's DecodeError and ValidationError, and invalid UTF-8 inside a string
        return None
    why = step_refusal(steps_key, mcp_key, step)
    shown, reason = step.step, step.reason
    if why is not None:
        shown, reason = "refused", f"refused by the worker: {why}; it claimed step {step.step!r}: {step.reason}"
    return [
        {
            "seq": None,
            "time": bounded(step.time_ns, *INT64),
            "command_id": step.command_id,
            "step": shown,
            "actor": step.actor,
            "client": step.client,
            "tool": step.tool,
            "args": step.args,
            "reason": reason,
            "result": step.result,
            "prev_hash": "",
            "hash": "",
            "kafka_partition": partition,
            "kafka_offset": offset,
            "signer": step.signer,
            "signature": step.signature,
        }
    ]


def stamp(rows: Sequence[Row], seq: int, previous: str) -> list[Row]:
    """Rows in topic order (partition, offset) with seq, prev_hash and hash filled in, chained on previous."""
    order = sorted(rows, key=lambda row: (row["kafka_partition"], row["kafka_offset"]))
    stamped = []
    for n, row in enumerate(order):
        digest = chain_hash(previous, chained_fields([row[column] for column in COMMAND_AUDIT_CHAINED]))
        stamped.append({**row, "seq": seq + n, "prev_hash": previous, "hash": digest})
        previous = digest
    return stamped


def last_link(client: Any, db: str, table: str) -> tuple[int, str]:
    """(the next seq, the hash to chain on): after the table's last row, or (0, GENESIS) when it is empty."""
    rows = client.query(f"SELECT seq, hash FROM {db}.{table} ORDER BY seq DESC LIMIT 1").result_rows
    return (int(rows[0][0]) + 1, str(rows[0][1])) if rows else (0, GENESIS)


def insert_chained(client: Any, db: str, table: str, rows: Sequence[Row], token: str) -> None:
    """Stamp rows after the table's last row and insert them in one block, deduplicated by token.

    A retry of an insert whose outcome was unknown (it may have landed) stamps the rows again after the
    landed ones, but carries the same token, and ClickHouse drops a block whose token it has seen: the
    chain gets the batch once. One writer at a time is assumed: the topic has one partition, which one
    worker holds.
    """
    if not rows:
        return
    seq, previous = last_link(client, db, table)
    clickhouse_writer.insert_rows(client, db, table, stamp(rows, seq, previous), token)
