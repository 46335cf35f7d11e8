"""The MIB tree builder and the certificate state rule: pure cores of get_mib_tree and get_server_certificate_list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from query_mcp.tools import mib_tree
from query_mcp.tools.cert_state import certificate_state
from schemas.mib_names import MibRow


def row(oid: str, name: str) -> MibRow:
    return MibRow(oid, name, "TEST-MIB", "node", "", "")


def names(nodes) -> list:
    return [(n["name"], names(n["children"])) if n["children"] else n["name"] for n in nodes]


def test_children_nest_under_their_longest_prefix_whatever_the_input_order():
    rows = [
        row("1.3.6.1.2.1.2.2.1.10", "ifInOctets"),
        row("1.3.6.1.2.1.2.2.1.2", "ifDescr"),
        row("1.3.6.1.2.1.2.2", "ifTable"),
        row("1.3.6.1.2.1.2.2.1", "ifEntry"),
        row("1.3.6.1.2.1.1", "system"),
        row("1.3.6.1.2.1.1.1", "sysDescr"),
    ]
    # no 1.3.6.1.2.1 in the table: system and ifTable are roots; 2 sorts before 10 numerically
    assert names(mib_tree.build(rows)) == [
        ("system", ["sysDescr"]),
        ("ifTable", [("ifEntry", ["ifDescr", "ifInOctets"])]),
    ]


def test_siblings_that_share_a_text_prefix_are_not_nested():
    tree = mib_tree.build([row("1.3.6.1.2.1.1", "a"), row("1.3.6.1.2.1.10", "b"), row("1.3.6.1.2.1.1.5", "c")])
    assert names(tree) == [("a", ["c"]), "b"]


def test_repeated_and_malformed_oids():
    tree = mib_tree.build([row("1.3.6", "first"), row("1.3.6", "again"), row("1.x.6", "bad"), row(".1.3.6.1", "sub")])
    assert names(tree) == [("first", ["sub"])]
    assert tree[0]["children"][0]["oid"] == "1.3.6.1"


def test_subtree_of_the_shipped_tree():
    tree = mib_tree.shipped_tree()
    node = mib_tree.subtree(tree, "1.3.6.1.2.1.2.2")
    assert node is not None and node["name"] == "ifTable" and node["module"] == "IF-MIB"
    assert mib_tree.subtree(tree, "1.3.6.1.2.1.2.2.1.2.999") is None
    assert mib_tree.subtree(tree, "not.an.oid") is None


NOW = datetime(2025, 10, 27, tzinfo=UTC)
GOOD = {
    "error": "",
    "subject": "CN=www.example.com",
    "issuer": "CN=Example CA",
    "verified": True,
    "not_before": NOW - timedelta(days=30),
    "not_after": NOW + timedelta(days=300),
}


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({}, "normal"),
        ({"error": "connection refused"}, "high"),
        ({"verified": False}, "high"),
        ({"subject": ""}, "high"),
        ({"not_after": NOW + timedelta(days=6)}, "low"),
        ({"not_after": NOW - timedelta(days=1)}, "low"),
        ({"not_after": NOW + timedelta(days=29)}, "warn"),
        ({"not_before": NOW - timedelta(days=900)}, "info"),
        ({"issuer": "CN=www.example.com"}, "info"),
    ],
)
def test_certificate_state(change, state):
    assert certificate_state(NOW, **(GOOD | change)) == state
