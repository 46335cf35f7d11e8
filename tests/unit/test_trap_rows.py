"""Trap records -> snmp_traps rows: typed varbinds, TWSNMP's Variables text, bounds, undecodable records."""

from processors.tables import trap_rows
from schemas import traps
from schemas.traps import Trap, TrapBatch, Varbind


def _trap(**over) -> Trap:
    fields = dict(
        received_ns=1_732_250_000_123_456_789,
        source="192.0.2.7",
        version="v2c",
        pdu="trap",
        security_name="",
        trap_oid="1.3.6.1.6.3.1.1.5.3",
        trap_name="IF-MIB::linkDown",
        uptime=12345,
        enterprise="",
        agent_address="",
        generic_trap=-1,
        specific_trap=-1,
        varbinds=[
            Varbind("1.3.6.1.2.1.2.2.1.1.3", "IF-MIB::ifIndex.3", "Integer32", "3"),
            Varbind("1.3.6.1.2.1.2.2.1.2.3", "IF-MIB::ifDescr.3", "OctetString", "Gi0/3"),
        ],
    )
    fields.update(over)
    return Trap(**fields)


def test_rows_keep_order_types_and_position():
    value = traps.encode(TrapBatch(1, [_trap(), _trap(source="192.0.2.8", varbinds=[])]))
    rows = trap_rows.record_rows(value, 2, 41)
    assert len(rows) == 2
    first = rows[0]
    assert first["received_at"] == 1_732_250_000_123_456
    assert first["varbind_types"] == ["Integer32", "OctetString"]
    assert first["varbind_names"] == ["IF-MIB::ifIndex.3", "IF-MIB::ifDescr.3"]
    assert first["variables"] == "IF-MIB::ifIndex.3=3\nIF-MIB::ifDescr.3=Gi0/3"
    assert (first["kafka_partition"], first["kafka_offset"], first["seq"]) == (2, 41, 0)
    second = rows[1]
    assert (second["source"], second["seq"], second["variables"], second["varbind_oids"]) == ("192.0.2.8", 1, "", [])


def test_numbers_outside_their_columns_are_bounded_not_fatal():
    values = trap_rows.trap_row(_trap(uptime=-5, generic_trap=300, specific_trap=2**40, received_ns=-1), 0, 0, 0)
    assert (values["uptime"], values["generic_trap"], values["specific_trap"], values["received_at"]) == (
        0,
        127,
        2**31 - 1,
        0,
    )


def test_undecodable_record_gives_none():
    assert trap_rows.record_rows(b"\xc1 not msgpack", 0, 0) is None
    assert trap_rows.record_rows(b"\x92\x01\x91\x01", 0, 0) is None  # msgpack, but not a TrapBatch
    assert trap_rows.record_rows(traps.encode(TrapBatch(1, [])), 0, 0) == []
