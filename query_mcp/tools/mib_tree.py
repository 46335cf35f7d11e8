"""The MIB tree of get_mib_tree, built from the OID/name table netobs ships (schemas.mib_names).

Shaped as TWSNMP FK's: nested {oid, name, children}; netobs adds module, kind, syntax and access.
A node's parent is its longest OID prefix in the table, so gaps in the table do not break the tree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from schemas import mib_names


def _arcs(oid: str) -> tuple[int, ...] | None:
    parts = oid.strip(".").split(".")
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def build(rows: Iterable[mib_names.MibRow]) -> list[dict[str, Any]]:
    """Roots of the tree (objects whose ancestors are not in the table), each with its descendants.

    Rows sorted by numeric OID visit a parent before its children, so a stack of the open ancestors
    finds each row's parent in one pass. A repeated OID keeps its first row; a malformed one is skipped.
    """
    keyed = {}
    for row in rows:
        arcs = _arcs(row.oid)
        if arcs is not None and arcs not in keyed:
            keyed[arcs] = row
    roots: list[dict[str, Any]] = []
    stack: list[tuple[tuple[int, ...], dict[str, Any]]] = []
    for arcs in sorted(keyed):
        row = keyed[arcs]
        node = {
            "oid": ".".join(map(str, arcs)),
            "name": row.name,
            "module": row.module,
            "kind": row.kind,
            "syntax": row.syntax,
            "access": row.access,
            "children": [],
        }
        while stack and arcs[: len(stack[-1][0])] != stack[-1][0]:
            stack.pop()
        (stack[-1][1]["children"] if stack else roots).append(node)
        stack.append((arcs, node))
    return roots


@functools.cache
def shipped_tree() -> tuple[dict[str, Any], ...]:
    """The tree of the shipped table, built once (callers must not modify it)."""
    return tuple(build(mib_names.rows()))


def subtree(tree: Iterable[dict[str, Any]], oid: str) -> dict[str, Any] | None:
    """The node with this dotted OID, or None."""
    target = _arcs(oid)
    if target is None:
        return None
    for node in tree:
        arcs = _arcs(node["oid"])
        if arcs == target:
            return node
        if arcs is not None and target[: len(arcs)] == arcs:
            return subtree(node["children"], oid)
    return None
