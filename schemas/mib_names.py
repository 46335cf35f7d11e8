"""OID <-> symbolic name, from the MIB table netobs ships (schemas/data/mib_names.tsv).

ingest names trap varbinds with it, the processors and query_mcp name poll results and answer
get_mib_tree from it, so all stages agree on one name per OID. The table covers SNMPv2-MIB (system,
snmp, snmpTrapOID, the standard traps), IF-MIB (ifTable, ifXTable, linkDown/linkUp), IP-MIB
(ipNetToMediaTable, ipNetToPhysicalTable and the rest), HOST-RESOURCES-MIB/-TYPES, SNMP-COMMUNITY-MIB
and what only RFC1213-MIB defines; scripts/build_mib_names.py regenerates it.

Names are net-snmp style: "MODULE::name.index", the index being the arcs after the longest known prefix.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import NamedTuple

TABLE = "data/mib_names.tsv"
CACHE_SIZE = 65_536
"""OIDs whose resolution is remembered: traps repeat the same few (ifIndex.N) over and over."""


class MibRow(NamedTuple):
    """One object of the table."""

    oid: str
    """Dotted numeric OID."""
    name: str
    module: str
    kind: str
    """node, scalar, table, row, column or notification."""
    syntax: str
    """Type or textual convention of scalars and columns (Integer32, DisplayString, PhysAddress, ...); else empty."""
    access: str
    """read-only, read-write, read-create, not-accessible, accessible-for-notify (scalars and columns); else empty."""


@functools.cache
def rows() -> tuple[MibRow, ...]:
    """Every row of the table, in OID order."""
    text = resources.files("schemas").joinpath(TABLE).read_text(encoding="utf-8")
    lines = text.splitlines()[1:]
    return tuple(MibRow(*line.split("\t")) for line in lines if line)


@functools.cache
def _by_oid() -> dict[str, MibRow]:
    return {row.oid: row for row in rows()}


@functools.cache
def _by_name() -> dict[str, MibRow]:
    """Bare and module-qualified names; a bare name defined twice keeps its first (lowest OID) row."""
    index: dict[str, MibRow] = {}
    for row in rows():
        index.setdefault(row.name, row)
        index[f"{row.module}::{row.name}"] = row
    return index


@functools.lru_cache(maxsize=CACHE_SIZE)
def resolve(oid: str) -> tuple[MibRow, str] | None:
    """The row of the longest known prefix of a dotted OID and the rest as an index ("" or ".3.1"); None if none."""
    table = _by_oid()
    prefix = oid
    while prefix:
        row = table.get(prefix)
        if row is not None:
            return row, oid[len(prefix) :]
        cut = prefix.rfind(".")
        if cut <= 0:
            return None
        prefix = prefix[:cut]
    return None


def name_of(oid: str) -> str:
    """ "MODULE::name.index" for a dotted OID (a leading dot is allowed); the OID itself if no prefix is known."""
    row = resolve(oid[1:] if oid.startswith(".") else oid)
    if row is None:
        return oid
    found, index = row
    return f"{found.module}::{found.name}{index}"


def short_name(oid: str) -> str:
    """The MIB name with its index but without its module ("sysContact.0"); the dotted OID if unknown.

    How poll results and action results name a value."""
    return name_of(oid).rpartition("::")[2]


def oid_of(name: str) -> str | None:
    """The dotted OID of "ifDescr", "IF-MIB::ifDescr.3", "sysUpTime.0" or a numeric OID; None if unknown."""
    name = name.strip()
    numeric = name[1:] if name.startswith(".") else name
    if _is_numeric(numeric):
        return numeric
    if "::" in name:
        module, _, rest = name.partition("::")
        base, dot, index = rest.partition(".")
        row = _by_name().get(f"{module}::{base}")
    else:
        base, dot, index = name.partition(".")
        row = _by_name().get(base)
    if row is None or (dot and not _is_numeric(index)):
        return None
    return f"{row.oid}.{index}" if dot else row.oid


def _is_numeric(oid: str) -> bool:
    return bool(oid) and all(arc.isdigit() and arc.isascii() for arc in oid.split("."))
