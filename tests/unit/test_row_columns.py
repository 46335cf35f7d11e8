"""Every row builder names exactly its table's insert columns (schemas.tables.COLUMNS), and the insert puts
values in that order by name: a builder and the column tuple that disagree fail here, not in ClickHouse."""

from __future__ import annotations

from typing import Any

import pytest

from common.signing import sign
from processors import clickhouse_writer
from processors.monitoring import poll_rows
from processors.monitoring.resource_monitor import Sampler
from processors.monitoring.state_machine import NodeState, PollingState
from processors.syslog.miner import Miner, PatternChange
from processors.syslog.rows import record_columns
from processors.tables import command_audit_rows, event_rows, inventory_rows, mcp_audit_rows, trap_rows
from schemas import commands, events, inventory, mcp_audit, raw_syslog, tables, traps
from schemas.events import Event, EventBatch
from schemas.inventory import InventoryEvent, Network, Node, Polling
from schemas.polls import PollResult
from schemas.traps import Trap, TrapBatch, Varbind
from tests.signing_keys import KEYS

T = 1_732_250_000_000_000_000


def _result(**over: Any) -> PollResult:
    fields: dict[str, Any] = dict(
        polling_id="p1",
        node_id="n1",
        polling_name="tls",
        node_name="router",
        kind="tls",
        level="low",
        thresholds=[],
        logging=True,
        time_ns=T,
        duration_ns=2_500_000,
        outcome="ok",
        values={"rtt_ms": 1.5},
        texts={"serial": "0A", "arp:192.0.2.5": "aa:bb:cc:00:11:22"},
        error="",
    )
    return PollResult(**(fields | over))


def _inventory(kind: str, op: str) -> bytes:
    entity = {
        "node": {"node": Node(id="x", name="r", ip="192.0.2.1")},
        "polling": {"polling": Polling(id="x", node_id="n", name="p", kind="ping")},
        "network": {"network": Network(id="x", name="lan", ip="192.0.2.0/24")},
    }[kind]
    event = InventoryEvent(kind=kind, op=op, id="x", time_ns=T, actor="t", **(entity if op == "upsert" else {}))
    return inventory.encode(sign(KEYS["inventory"], event))


def _rows() -> list[tuple[str, dict[str, Any]]]:
    """(table, row) for every kind of row the processors build, in each of its shapes."""
    trap = Trap(
        T, "192.0.2.7", "v2c", "trap", "", "1.3", "x", 1, "", "", -1, -1, [Varbind("1.3", "a", "Integer32", "3")]
    )
    event = Event("e1", T, "polling", "high", "normal", "n1", "router", "down", 0.0, "p1")
    audit = mcp_audit.AuditRecord(T, "h:1", "http", "127.0.0.1", "r", "tools/call", "t", "", "ok", "", 200, 1.0)
    batch = mcp_audit.AuditBatch(1, [audit])
    step = commands.Step(command_id="c1", step="requested", time_ns=T, actor="ops", tool="do_ping")
    [unstamped] = command_audit_rows.record_rows(
        commands.encode(sign(KEYS["steps"], step)), 0, 1, KEYS["steps"], KEYS["mcp_audit"]
    )
    [refused] = command_audit_rows.record_rows(commands.encode(step), 0, 1, KEYS["steps"], KEYS["mcp_audit"])
    built = [
        (tables.SYSLOG_PATTERNS, clickhouse_writer.pattern_rows([(PatternChange(1, "a <*>", 0, T), 5)])[0]),
        (tables.PROCESSOR_STATE, clickhouse_writer.state_row("topic", 0, 1, 5, b"state")),
        (tables.POLLING_LOG, poll_rows.log_row(_result(), "normal", "ok", 0, 1, 0)),
        (
            tables.POLLING_STATE,
            poll_rows.polling_state_row("p1", PollingState("n1", "tls", "normal", T, T, "", 0), _result(), T),
        ),
        (tables.NODE_STATE, poll_rows.node_state_row("n1", NodeState("router", "normal", T, T, "", T), T)),
        (tables.IP_ADDRESS, poll_rows.arp_rows(_result())[0]),
        (tables.CERTIFICATES, poll_rows.certificate_row(_result())),
        (tables.SNMP_TRAPS, trap_rows.record_rows(traps.encode(TrapBatch(1, [trap])), 0, 1)[0]),
        (tables.EVENT_LOG, event_rows.record_rows(events.encode(EventBatch(1, [event])), 0, 1, T)[0]),
        (tables.EVENT_LOG, event_rows.record_rows(b"junk", 0, 1, T)[0]),
        (
            tables.MCP_AUDIT,
            mcp_audit_rows.record_rows(mcp_audit.encode(sign(KEYS["mcp_audit"], batch)), 0, 1, T, KEYS["mcp_audit"])[0],
        ),
        (tables.MCP_AUDIT, mcp_audit_rows.record_rows(mcp_audit.encode(batch), 0, 1, T, KEYS["mcp_audit"])[0]),
        (tables.COMMAND_AUDIT, unstamped),
        (tables.COMMAND_AUDIT, refused),
        (tables.COMMAND_AUDIT, command_audit_rows.stamp([unstamped], 0, "genesis")[0]),
        (tables.RESOURCE_MONITOR, Sampler("h", "worker-1", ".").sample(0, 0)),
    ]
    for kind in ("node", "polling", "network"):
        for op in ("upsert", "delete"):
            built.append(inventory_rows.record_rows(_inventory(kind, op), 1, KEYS["inventory"]))
    return built


@pytest.mark.parametrize(("table", "row"), _rows())
def test_each_row_names_exactly_its_tables_columns(table: str, row: dict[str, Any]) -> None:
    assert sorted(row) == sorted(tables.COLUMNS[table])
    assert len(row) == len(tables.COLUMNS[table])


def test_syslog_columns_name_exactly_the_syslog_columns() -> None:
    batch = raw_syslog.RawBatch(1, "udp", [T, T], ["192.0.2.1", "192.0.2.2"], [b"<13>a: x", b"junk"], [0, 0])
    for columns in (
        record_columns(raw_syslog.encode(batch), 0, 1, T, Miner()),
        record_columns(b"\xc1 not a batch", 0, 1, T, Miner()),
    ):
        assert sorted(columns) == sorted(tables.SYSLOG_COLUMNS)
        assert len({len(values) for values in columns.values()}) == 1


class _Client:
    def __init__(self) -> None:
        self.inserts: list[tuple[str, list[Any], list[str]]] = []

    def insert(self, table: str, data: list[Any], column_names: list[str], **_: Any) -> None:
        self.inserts.append((table, data, column_names))


def test_the_insert_orders_values_by_the_column_tuple() -> None:
    client = _Client()
    row = poll_rows.node_state_row("n1", NodeState("router", "high", T, T, "", T), T)
    clickhouse_writer.insert_rows(client, "db", tables.NODE_STATE, [dict(reversed(row.items()))], "token")
    [(name, data, names)] = client.inserts
    assert (name, names) == (f"db.{tables.NODE_STATE}", list(tables.NODE_STATE_COLUMNS))
    assert data == [[row[column]] for column in tables.NODE_STATE_COLUMNS]


def test_the_insert_refuses_rows_that_are_not_the_tables_columns() -> None:
    row = poll_rows.node_state_row("n1", NodeState("router", "high", T, T, "", T), T)
    missing = {k: v for k, v in row.items() if k != "since"}
    for bad in (missing, row | {"extra": 1}, missing | {"sincee": 1}):
        with pytest.raises((KeyError, ValueError)):
            clickhouse_writer.insert_rows(_Client(), "db", tables.NODE_STATE, [bad], "token")
    columns = {name: [1] for name in tables.SYSLOG_COLUMNS}
    with pytest.raises(ValueError):
        clickhouse_writer.insert_columns(_Client(), "db", tables.SYSLOG, columns | {"raw_head": []}, "token")
    with pytest.raises(ValueError):
        clickhouse_writer.insert_columns(_Client(), "db", tables.SYSLOG, columns | {"extra": [1]}, "token")
