from itertools import pairwise

import msgspec
import pytest

from common import audit_chain
from common.audit_chain import GENESIS, chain_hash, first_broken
from common.signing import sign
from common.timefmt import rfc3339_ns
from processors.tables import command_audit_rows as car
from schemas import commands
from schemas.commands import Step
from schemas.tables import COMMAND_AUDIT_CHAINED
from tests.signing_keys import KEYS

STEPS, MCP = KEYS["steps"], KEYS["mcp_audit"]

T = 1_700_000_000_123_456_789


def _step(**over) -> bytes:
    fields = dict(command_id="c1", step="requested", time_ns=T, actor="ops", client="127.0.0.1", tool="do_ping")
    return commands.encode(sign(STEPS, Step(**(fields | over))))


def test_a_step_becomes_one_unstamped_row():
    value = _step(args='{"target":"10.0.0.1"}', reason="check", result='{"ok":true}')
    [row] = car.record_rows(value, 0, 7, STEPS, MCP)
    assert row == {
        "seq": None,
        "time": T,
        "command_id": "c1",
        "step": "requested",
        "actor": "ops",
        "client": "127.0.0.1",
        "tool": "do_ping",
        "args": '{"target":"10.0.0.1"}',
        "reason": "check",
        "result": '{"ok":true}',
        "prev_hash": "",
        "hash": "",
        "kafka_partition": 0,
        "kafka_offset": 7,
        "signer": "executor",
        "signature": commands.decode_step(value).signature,
    }


@pytest.mark.parametrize(
    "value",
    [
        b"\x00garbage",
        b"{}",
        _step(step="exploded"),  # not a step the command path knows
        b'{"command_id":"\xff","step":"requested","time_ns":1,"actor":"a"}',  # invalid UTF-8
        b'{"command_id":"\\ud800","step":"requested","time_ns":1,"actor":"a"}',  # a lone surrogate
        commands.encode(commands.Command(id="c1", time_ns=T, actor="a", tool="do_ping")),  # a command, not a step
    ],
)
def test_what_is_not_a_step_gives_none(value):
    assert car.record_rows(value, 0, 0, STEPS, MCP) is None


def test_a_time_the_column_cannot_hold_is_pulled_into_int64():
    assert car.record_rows(_step(time_ns=10**30), 0, 0, STEPS, MCP)[0]["time"] == 2**63 - 1
    assert car.record_rows(_step(time_ns=-(10**30)), 0, 0, STEPS, MCP)[0]["time"] == -(2**63)


def test_chained_fields_are_exactly_the_chained_columns():
    values = [T, "c1", "executed", "executor", "", "do_ping", "", "", '{"rtt_ms":1.5}', "executor", "ab" * 32]
    fields = audit_chain.chained_fields(values)
    assert list(fields) == list(COMMAND_AUDIT_CHAINED)
    # A row from before signing (neither signer nor signature) hashes as it did then, without them.
    legacy = audit_chain.chained_fields([*values[:9], "", ""])
    assert list(legacy) == list(COMMAND_AUDIT_CHAINED[:9])
    assert fields["time"] == T and fields["result"] == '{"rtt_ms":1.5}'
    # What ClickHouse reads back (numpy-ish ints, str) hashes the same as what the worker built.
    assert chain_hash(GENESIS, car.chained_fields([str(T), *values[1:]])) == chain_hash(GENESIS, fields)


def _rows(offsets, partition=0):
    return [car.record_rows(_step(command_id=f"c{o}", time_ns=T + o), partition, o, STEPS, MCP)[0] for o in offsets]


def test_stamp_chains_rows_in_topic_order_from_genesis():
    named = car.stamp(_rows([5, 3, 4]), 0, GENESIS)
    assert [(r["seq"], r["kafka_offset"]) for r in named] == [(0, 3), (1, 4), (2, 5)]
    assert named[0]["prev_hash"] == GENESIS
    for before, row in pairwise(named):
        assert row["prev_hash"] == before["hash"]
    for row in named:
        fields = {c: row[c] for c in COMMAND_AUDIT_CHAINED}
        assert row["hash"] == chain_hash(row["prev_hash"], fields)
    records = [(r["seq"], car.chained_fields([r[c] for c in COMMAND_AUDIT_CHAINED]), r["hash"]) for r in named]
    assert first_broken(records) is None


def test_a_skipped_record_leaves_no_gap_and_a_later_batch_continues_the_chain():
    # Offset 1 did not decode (no row): seq stays continuous, and the next batch chains on the last hash.
    first = car.stamp(_rows([0, 2]), 0, GENESIS)
    second = car.stamp(_rows([3]), 2, first[-1]["hash"])
    named = first + second
    assert [r["seq"] for r in named] == [0, 1, 2]
    records = [(r["seq"], {c: r[c] for c in COMMAND_AUDIT_CHAINED}, r["hash"]) for r in named]
    assert first_broken(records) is None


def test_an_edited_field_breaks_the_chain_at_that_record():
    named = car.stamp(_rows([0, 1, 2]), 10, GENESIS)
    records = [(r["seq"], {c: r[c] for c in COMMAND_AUDIT_CHAINED}, r["hash"]) for r in named]
    records[1][1]["result"] = "forged"
    broken = first_broken(records)
    assert (broken.position, broken.seq) == (1, 11)


def test_rfc3339_keeps_all_nine_digits():
    assert rfc3339_ns(T) == "2023-11-14T22:13:20.123456789Z"
    assert rfc3339_ns(-1) == "1969-12-31T23:59:59.999999999Z"


@pytest.mark.parametrize(
    ("step", "why"),
    [
        (Step(command_id="c1", step="executed", time_ns=T, actor="admin", result="{}"), "unsigned"),
        (
            msgspec.structs.replace(
                sign(STEPS, Step(command_id="c1", step="executed", time_ns=T, actor="executor")), result='{"x":1}'
            ),
            "does not verify",
        ),
        (sign(MCP, Step(command_id="c1", step="executed", time_ns=T, actor="executor", signer="mcp")), "only denials"),
        (sign(STEPS, Step(command_id="c1", step="denied", time_ns=T, actor="x", signer="mcp")), "does not verify"),
    ],
)
def test_a_step_not_from_its_signer_becomes_a_refused_row(step, why):
    [row] = car.record_rows(commands.encode(step), 0, 3, STEPS, MCP)
    assert row["step"] == "refused" and why in row["reason"] and f"claimed step {step.step!r}" in row["reason"]
    assert (row["actor"], row["signature"]) == (step.actor, step.signature)


def test_a_denial_signed_by_the_mcp_service_is_projected_as_it_is():
    step = sign(MCP, Step(command_id="c1", step="denied", time_ns=T, actor="reader", signer="mcp", reason="scope"))
    [row] = car.record_rows(commands.encode(step), 0, 3, STEPS, MCP)
    assert (row["step"], row["signer"], row["reason"]) == ("denied", "mcp", "scope")
