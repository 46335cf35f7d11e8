"""The shipped OID <-> name table (schemas/data/mib_names.tsv) and its lookups."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pysnmp.smi import builder

from schemas.mib_names import MibRow, name_of, oid_of, resolve, rows

KINDS = {"node", "scalar", "table", "row", "column", "notification"}
ACCESS = {"read-only", "read-write", "read-create", "not-accessible", "accessible-for-notify"}


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def test_table_is_well_formed_sorted_and_one_name_per_oid():
    table = rows()
    assert len(table) > 500
    assert all(isinstance(r, MibRow) and r.oid and r.name and r.module for r in table)
    assert [_arcs(r.oid) for r in table] == sorted(_arcs(r.oid) for r in table)
    assert len({r.oid for r in table}) == len(table)
    assert len({(r.module, r.name) for r in table}) == len(table)
    assert {r.kind for r in table} == KINDS
    for r in table:
        if r.kind in ("scalar", "column"):
            assert r.syntax and r.access in ACCESS, r
        else:
            assert r.syntax == r.access == "", r


@pytest.mark.parametrize(
    ("oid", "name"),
    [
        ("1.3.6.1.2.1.1.1.0", "SNMPv2-MIB::sysDescr.0"),
        ("1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0"),
        ("1.3.6.1.2.1.1.5.0", "SNMPv2-MIB::sysName.0"),
        ("1.3.6.1.6.3.1.1.4.1.0", "SNMPv2-MIB::snmpTrapOID.0"),
        ("1.3.6.1.6.3.1.1.5.1", "SNMPv2-MIB::coldStart"),
        ("1.3.6.1.6.3.1.1.5.2", "SNMPv2-MIB::warmStart"),
        ("1.3.6.1.6.3.1.1.5.3", "IF-MIB::linkDown"),
        ("1.3.6.1.6.3.1.1.5.4", "IF-MIB::linkUp"),
        ("1.3.6.1.6.3.1.1.5.5", "SNMPv2-MIB::authenticationFailure"),
        ("1.3.6.1.6.3.1.1.5.6", "RFC1213-MIB::egpNeighborLoss"),
        ("1.3.6.1.2.1.2.2.1.2.3", "IF-MIB::ifDescr.3"),
        ("1.3.6.1.2.1.2.2.1.20.1", "IF-MIB::ifOutErrors.1"),
        ("1.3.6.1.2.1.31.1.1.1.1.5", "IF-MIB::ifName.5"),
        ("1.3.6.1.2.1.31.1.1.1.18.5", "IF-MIB::ifAlias.5"),
        ("1.3.6.1.2.1.25.1.1.0", "HOST-RESOURCES-MIB::hrSystemUptime.0"),
        ("1.3.6.1.2.1.25.2.3.1.6.1", "HOST-RESOURCES-MIB::hrStorageUsed.1"),
        ("1.3.6.1.2.1.25.3.3.1.2.196608", "HOST-RESOURCES-MIB::hrProcessorLoad.196608"),
        ("1.3.6.1.2.1.25.4.2.1.2.1", "HOST-RESOURCES-MIB::hrSWRunName.1"),
        ("1.3.6.1.2.1.25.2.1.4", "HOST-RESOURCES-TYPES::hrStorageFixedDisk"),
        ("1.3.6.1.2.1.4.22.1.2.2.10.0.0.1", "IP-MIB::ipNetToMediaPhysAddress.2.10.0.0.1"),
        ("1.3.6.1.2.1.4.35.1.4.2.1.4.10.0.0.1", "IP-MIB::ipNetToPhysicalPhysAddress.2.1.4.10.0.0.1"),
        ("1.3.6.1.6.3.18.1.3.0", "SNMP-COMMUNITY-MIB::snmpTrapAddress.0"),
        ("1.3.6.1.2.1.6.13.1.1.0.0.0.0.22.0.0.0.0.0", "RFC1213-MIB::tcpConnState.0.0.0.0.22.0.0.0.0.0"),
        ("1.3.6.1.4.1.9.9.41.2.0.1", "SNMPv2-SMI::enterprises.9.9.41.2.0.1"),
        (".1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0"),
    ],
)
def test_name_of_takes_the_longest_known_prefix_and_keeps_the_index(oid, name):
    assert name_of(oid) == name


@pytest.mark.parametrize("oid", ["1.2.840.10045", "0.0", "2.5.4.3", "", "not.an.oid", "1.3.6"])
def test_name_of_an_oid_outside_the_table_is_the_oid(oid):
    assert name_of(oid) == oid


@pytest.mark.parametrize(
    ("name", "oid"),
    [
        ("ifDescr", "1.3.6.1.2.1.2.2.1.2"),
        ("IF-MIB::ifDescr.3", "1.3.6.1.2.1.2.2.1.2.3"),
        ("sysUpTime.0", "1.3.6.1.2.1.1.3.0"),
        ("SNMPv2-MIB::sysUpTime.0", "1.3.6.1.2.1.1.3.0"),
        ("linkDown", "1.3.6.1.6.3.1.1.5.3"),
        ("ipNetToPhysicalPhysAddress", "1.3.6.1.2.1.4.35.1.4"),
        ("mib-2", "1.3.6.1.2.1"),
        ("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0"),
        (".1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0"),
        ("  hrProcessorLoad.196608 ", "1.3.6.1.2.1.25.3.3.1.2.196608"),
    ],
)
def test_oid_of_accepts_bare_qualified_indexed_and_numeric_names(name, oid):
    assert oid_of(name) == oid


@pytest.mark.parametrize(
    "name", ["", "noSuchThing", "NO-MIB::ifDescr", "RFC1213-MIB::ifDescr", "ifDescr.x", "ifDescr.", "1..3", "1.3.a"]
)
def test_oid_of_unknown_or_malformed_is_none(name):
    assert oid_of(name) is None


def test_every_row_round_trips_through_its_name():
    for row in rows():
        assert resolve(row.oid) == (row, "")
        assert name_of(row.oid) == f"{row.module}::{row.name}"
        assert oid_of(name_of(row.oid)) == row.oid
        assert oid_of(f"{row.module}::{row.name}.7.1") == f"{row.oid}.7.1"


def test_facts_agree_with_the_mibs_pysnmp_ships():
    """An independent source: pysnmp 7's own compiled SNMPv2-MIB, SNMP-COMMUNITY-MIB and RFC1213-MIB."""
    mibs = builder.MibBuilder()
    mibs.load_modules("SNMPv2-MIB", "SNMP-COMMUNITY-MIB", "RFC1213-MIB")
    ours = {row.name: row.oid for row in rows()}
    checked = 0
    for module in ("SNMPv2-MIB", "SNMP-COMMUNITY-MIB", "RFC1213-MIB"):
        for name, symbol in mibs.mibSymbols[module].items():
            oid = getattr(symbol, "name", None)
            if isinstance(oid, tuple) and oid[:4] == (1, 3, 6, 1) and name in ours:
                assert ours[name] == ".".join(map(str, oid)), (module, name)
                checked += 1
    assert checked > 150


arcs = st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=20)


@given(prefix=st.sampled_from([r.oid for r in rows()]), index=arcs)
def test_an_index_under_a_known_object_is_kept_whole(prefix, index):
    oid = prefix + "." + ".".join(map(str, index))
    name = name_of(oid)
    assert "::" in name
    assert oid_of(name) == oid


@given(st.text(max_size=80))
def test_lookups_never_raise(text):
    assert isinstance(name_of(text), str)
    assert oid_of(text) is None or oid_of(oid_of(text)) == oid_of(text)
