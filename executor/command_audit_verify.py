"""`netobs audit verify`: walk command_audit in seq order and name the first record whose hash does not follow.

The rows are streamed in blocks: the table is kept forever and may hold millions of rows. Each record's
hash is recomputed from what ClickHouse returns (audit_chain.first_broken, over the same fields the worker
hashed: audit_chain.chained_fields), so an edited, removed or reordered row is found, and the records
before it are vouched for. The prev_hash column is checked too: the hash does not depend on it, but analysts
read it, so it must name the hash of the record before.

Each record's signature is checked too (common.signing.step_refusal, with the steps and MCP audit keys): a
step that did not come from the executor (nor is a denial the MCP service signed) is named, however intact
its hash, and so is a row the worker stored as "refused". Rows from before signing (no signer, no signature,
not refused) are vouched for by the chain alone, and only while no signed row came before them: once the
chain holds a signed step, every later one must be signed.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from clickhouse_connect.driver.exceptions import ClickHouseError

from common import clickhouse
from common.audit_chain import GENESIS, Broken, chained_fields, first_broken
from common.signing import step_refusal
from common.timefmt import rfc3339_ns
from schemas.commands import Step
from schemas.tables import COMMAND_AUDIT, COMMAND_AUDIT_CHAINED

BLOCK_ROWS = 10_000
SELECTED = ", ".join("toUnixTimestamp64Nano(time)" if c == "time" else c for c in COMMAND_AUDIT_CHAINED)
"""The hashed columns, time as integer nanoseconds (a datetime would lose the last three digits)."""


@dataclass(frozen=True)
class Stored:
    """One command_audit row as read back: its seq, the fields its hash covers, and the hashes it holds."""

    seq: int
    fields: dict[str, Any]
    prev_hash: str
    hash: str


def stored_records(client: Any, database: str, block_rows: int = BLOCK_ROWS) -> Generator[Stored]:
    """Every command_audit row in seq order, read in blocks of at most block_rows."""
    query = f"SELECT seq, {SELECTED}, prev_hash, hash FROM {database}.{COMMAND_AUDIT} ORDER BY seq"
    with client.query_row_block_stream(query, settings={"max_block_size": block_rows}) as blocks:
        for block in blocks:
            for seq, *chained, prev_hash, stored in block:
                yield Stored(int(seq), chained_fields(chained), str(prev_hash), str(stored))


def not_genuine(fields: dict[str, Any], steps_key: bytes, mcp_key: bytes, signed_before: bool) -> str | None:
    """Why a stored step is not one its signer wrote, or None; a row from before signing passes only while no
    signed row came before it."""
    if not fields.get("signer") and not fields.get("signature") and fields["step"] != "refused":
        return "unsigned, after signed records: not a step of the executor" if signed_before else None
    step = Step(
        command_id=fields["command_id"],
        step=fields["step"],
        time_ns=fields["time"],
        actor=fields["actor"],
        client=fields["client"],
        tool=fields["tool"],
        args=fields["args"],
        reason=fields["reason"],
        result=fields["result"],
        signer=fields.get("signer", ""),
        signature=fields.get("signature", ""),
    )
    why = step_refusal(steps_key, mcp_key, step)
    if fields["step"] == "refused" and why is not None:
        return f"a record the worker refused ({fields['reason'][:300]})"
    return why


def walk(
    client: Any, database: str, steps_key: bytes, mcp_key: bytes, block_rows: int = BLOCK_ROWS
) -> tuple[int, Broken | None, Stored | None]:
    """(records vouched for, the first break or None, the broken record or else the last one)."""
    records = stored_records(client, database, block_rows)
    count, last, mislinked = 0, None, None

    def chain() -> Iterator[tuple[int, dict[str, Any], str]]:
        nonlocal count, last, mislinked
        previous, signed = GENESIS, False
        for position, record in enumerate(records):
            last = record
            yield record.seq, record.fields, record.hash
            # Resumed: first_broken found the record's hash right; now its prev_hash column and its signature.
            if record.prev_hash != previous:
                mislinked = Broken(position, record.seq, "its prev_hash column is not the hash of the record before")
                return
            why = not_genuine(record.fields, steps_key, mcp_key, signed)
            if why is not None:
                mislinked = Broken(position, record.seq, f"not from the executor: {why}")
                return
            signed = signed or bool(record.fields.get("signature"))
            previous, count = record.hash, count + 1

    try:
        broken = first_broken(chain()) or mislinked
    finally:
        records.close()
    return (broken.position if broken else count), broken, last


def verify(client: Any, database: str, steps_key: bytes, mcp_key: bytes) -> tuple[int, Broken | None]:
    """(records checked and intact, the first break or None); an empty table is intact."""
    checked, broken, _ = walk(client, database, steps_key, mcp_key)
    return checked, broken


def run(dsn: str, database: str, out: TextIO, steps_key: bytes, mcp_key: bytes) -> int:
    """Verify and say so on out: 0 intact, 1 broken (naming the first broken or unsigned record), 2 ClickHouse
    failed. steps_key and mcp_key check the signatures."""
    embedded = dsn.startswith("chdb://")
    where = f"the embedded ClickHouse at {dsn.removeprefix('chdb://')}" if embedded else "ClickHouse"
    try:
        client = clickhouse.connect(dsn)
    except clickhouse.StoreHeld as exc:
        print(f"netobs audit verify: {exc}", file=sys.stderr)
        return 2
    except ClickHouseError as exc:
        print(f"netobs audit verify: cannot open {where}: {exc}", file=sys.stderr)
        return 2
    try:
        checked, broken, record = walk(client, database, steps_key, mcp_key)
    except ClickHouseError as exc:
        print(f"netobs audit verify: cannot read {database}.{COMMAND_AUDIT} from {where}: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()
    if broken is None:
        last = f" (last seq {record.seq}, hash {record.hash})" if record else ""
        print(f"{COMMAND_AUDIT}: {checked} records, chain intact{last}", file=out)
        return 0
    assert record is not None  # a break is always at a record
    f = record.fields
    print(
        f"{COMMAND_AUDIT}: chain broken at seq {broken.seq} (command {f['command_id']}, step {f['step']}, "
        f"{rfc3339_ns(f['time'])}): {broken.reason}; the {checked} records before it are intact",
        file=out,
    )
    return 1
