"""Regenerate schemas/data/mib_names.tsv, the OID <-> name table netobs ships, from compiled MIB modules.

The facts (OIDs, names, syntaxes, access) come from the MIB modules as compiled for pysnmp 4 by the
Debian packages python3-pysnmp4 (SNMPv2-SMI, SNMPv2-MIB, SNMP-COMMUNITY-MIB, RFC1213-MIB) and
python3-pysnmp4-mibs (IF-MIB, IP-MIB, HOST-RESOURCES-MIB, HOST-RESOURCES-TYPES). Those packages are a
carrier of the data only, not a dependency: run this with the system python3 that has them.

    apt-get install python3-pysnmp4-mibs
    /usr/bin/python3 scripts/build_mib_names.py

An OID defined by several modules keeps the name of the first module in MODULES (IF-MIB's ifDescr
rather than RFC1213-MIB's), so every OID has one name. Conformance groups and compliance statements
are left out: they never appear on the wire.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MIBS_DIR = "/usr/lib/python3/dist-packages/pysnmp_mibs"
OUTPUT = Path(__file__).resolve().parent.parent / "schemas" / "data" / "mib_names.tsv"
MODULES = (
    "SNMPv2-SMI",
    "SNMPv2-MIB",
    "IF-MIB",
    "IP-MIB",
    "HOST-RESOURCES-MIB",
    "HOST-RESOURCES-TYPES",
    "SNMP-COMMUNITY-MIB",
    "RFC1213-MIB",
)
EXTRA = (("1.3.6.1.6.3.1.1.5.6", "egpNeighborLoss", "RFC1213-MIB", "notification", "", ""),)
"""RFC 1215's egpNeighborLoss TRAP-TYPE, which no compiled module carries, at its RFC 3584 OID."""
KINDS = {
    "MibTree": "node",
    "MibIdentifier": "node",
    "ObjectIdentity": "node",
    "ModuleIdentity": "node",
    "MibScalar": "scalar",
    "MibTable": "table",
    "MibTableRow": "row",
    "MibTableColumn": "column",
    "NotificationType": "notification",
}
ACCESS = {
    "readonly": "read-only",
    "read-only": "read-only",
    "readwrite": "read-write",
    "read-write": "read-write",
    "readcreate": "read-create",
    "read-create": "read-create",
    "noaccess": "not-accessible",
    "not-accessible": "not-accessible",
    "accessiblefornotify": "accessible-for-notify",
    "accessible-for-notify": "accessible-for-notify",
}
ASN1_NAMES = {"Integer": "INTEGER", "OctetString": "OCTET STRING", "ObjectIdentifier": "OBJECT IDENTIFIER"}
TOP = (1, 3, 6, 1)
"""SNMPv2-SMI nodes above internet (iso, org, dod) are left out: an OID outside internet stays numeric."""


def rows() -> list[tuple[str, str, str, str, str, str]]:
    from pysnmp.smi import builder  # pysnmp 4 of the system python, not netobs's pysnmp 7

    mibs = builder.MibBuilder()
    mibs.addMibSources(builder.DirMibSource(MIBS_DIR))
    mibs.loadModules(*MODULES)
    seen: dict[tuple[int, ...], tuple[str, str, str, str, str, str]] = {}
    for module in MODULES:
        for name, symbol in mibs.mibSymbols[module].items():
            kind = KINDS.get(type(symbol).__name__)
            oid = getattr(symbol, "name", None)
            if kind is None or not isinstance(oid, tuple) or name == "PYSNMP_MODULE_ID":
                continue
            if oid[: len(TOP)] != TOP or oid in seen:
                continue
            syntax = getattr(symbol, "syntax", None) if kind in ("scalar", "column") else None
            syntax_name = type(syntax).__name__ if syntax is not None else ""
            access = ACCESS.get(getattr(symbol, "maxAccess", ""), "") if kind in ("scalar", "column") else ""
            seen[oid] = (
                ".".join(map(str, oid)),
                name,
                module,
                kind,
                ASN1_NAMES.get(syntax_name, syntax_name),
                access,
            )
    for extra in EXTRA:
        oid = tuple(int(arc) for arc in extra[0].split("."))
        seen.setdefault(oid, extra)
    return [seen[oid] for oid in sorted(seen)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    table = rows()
    names: dict[str, str] = {}
    for oid, name, module, *_ in table:
        if name in names:
            print(f"note: {name} is defined twice ({names[name]} and {module}::{oid})", file=sys.stderr)
        names.setdefault(name, f"{module}::{oid}")
    lines = ["oid\tname\tmodule\tkind\tsyntax\taccess", *("\t".join(row) for row in table)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"{len(table)} rows written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
