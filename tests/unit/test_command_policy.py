"""executor.policy and command_book: what a command may do, and what the executor remembers."""

from __future__ import annotations

from common.config import ActionsConfig
from executor import policy
from executor.command_book import fold
from executor.inventory import Inventory
from executor.policy import Review, review
from schemas.command_args import check
from schemas.commands import Step
from schemas.inventory import Network, Node

S = 10**9
POLICY = policy.from_config(ActionsConfig(networks=("10.9.0.0/16",), rate_per_actor=2, approval_tools=("snmpset",)))


def inventory() -> Inventory:
    inv = Inventory()
    inv.nodes["n1"] = Node(id="n1", name="core", ip="192.0.2.1", snmp_credential="rw")
    inv.networks["w1"] = Network(id="w1", name="lab", ip="198.51.100.0/24")
    return inv


def judge(tool: str, args: dict[str, object], times: list[int] | None = None) -> Review:
    return review(tool, check(tool, args), inventory(), POLICY, times or [], 100 * S)


def test_targets_managed_or_inside_a_known_network() -> None:
    assert judge("do_ping", {"target": "core"}).verdict == "run"
    assert judge("do_ping", {"target": "192.0.2.1"}).node is not None
    assert judge("do_ping", {"target": "198.51.100.7"}).verdict == "run"
    assert judge("do_ping", {"target": "10.9.3.4"}).verdict == "run"
    denied = judge("do_ping", {"target": "203.0.113.5"})
    assert denied.verdict == "deny" and "not a managed node" in denied.reason
    unknown = judge("snmpwalk", {"target": "nosuchnode", "mib_object_name": "system"})
    assert unknown.verdict == "deny" and "neither an IP address nor the name" in unknown.reason
    assert judge("add_node", {"name": "x", "ip": "203.0.113.9"}).verdict == "deny"
    assert judge("add_node", {"name": "x", "ip": "10.9.0.9"}).verdict == "run"
    assert judge("update_node", {"id": "core", "ip": "203.0.113.9"}).verdict == "deny"
    assert judge("update_node", {"id": "192.0.2.1", "description": "d"}).verdict == "run"
    assert judge("update_node", {"id": "ghost", "description": "d"}).verdict == "deny"
    assert judge("add_event_log", {"event": "e"}).verdict == "run"


def test_moving_a_node_with_an_snmp_credential_waits_for_approval() -> None:
    """A write token alone must not point a node's read-write community at another address (hardening #7)."""
    moved = judge("update_node", {"id": "core", "ip": "10.9.7.7"})
    assert moved.verdict == "approve"
    assert "SNMP credential 'rw'" in moved.reason and "10.9.7.7" in moved.reason
    assert judge("update_node", {"id": "core", "ip": "192.0.2.1"}).verdict == "run"
    assert judge("update_node", {"id": "core", "name": "core2"}).verdict == "run"
    plain = inventory()
    plain.nodes["n2"] = Node(id="n2", name="edge", ip="192.0.2.2")
    args = check("update_node", {"id": "edge", "ip": "10.9.7.8"})
    assert review("update_node", args, plain, POLICY, [], 100 * S).verdict == "run"
    off = policy.from_config(ActionsConfig(networks=("10.9.0.0/16",), approve_credential_moves=False))
    assert (
        review("update_node", check("update_node", {"id": "core", "ip": "10.9.7.7"}), inventory(), off, [], 0).verdict
        == "run"
    )


def test_snmpset_oids_allow_deny_whole_arcs_and_approval() -> None:
    def setting(oid: str) -> Review:
        return judge("snmpset", {"target": "core", "mib_object_name": oid, "type": "string", "value": "v"})

    assert setting("sysContact.0").verdict == "approve"
    assert setting("sysLocation.0").verdict == "approve"
    assert "snmpset_allow" in setting("sysDescr.0").reason
    assert "snmpset_allow" in setting("1.3.6.1.2.1.1.40.0").reason
    wide = policy.from_config(ActionsConfig(snmpset_allow=("1.3.6",), snmpset_deny=("1.3.6.1.6.3",)))
    assert "snmpset_deny" in str(policy.oid_refusal("1.3.6.1.6.3.15.1.2.2.1.6.1", wide))
    assert policy.oid_refusal("1.3.6.1.2.1.1.4.0", wide) is None


def test_rate_per_actor_per_minute() -> None:
    assert judge("do_ping", {"target": "core"}, [50 * S, 99 * S]).verdict == "deny"
    assert "rate limit" in judge("do_ping", {"target": "core"}, [50 * S, 99 * S]).reason
    assert judge("do_ping", {"target": "core"}, [39 * S, 99 * S]).verdict == "run"
    assert policy.rate_refusal([1] * 100, 2, 0) is None


def test_book_knows_last_steps_pending_rates_and_deciders() -> None:
    steps = [
        Step(command_id="a", step="requested", time_ns=1 * S, actor="ops"),
        Step(command_id="a", step="executing", time_ns=2 * S, actor="executor"),
        Step(command_id="a", step="executed", time_ns=3 * S, actor="executor"),
        Step(command_id="b", step="requested", time_ns=4 * S, actor="ops"),
        Step(command_id="b", step="denied", time_ns=5 * S, actor="executor", reason="no"),
        Step(command_id="c", step="requested", time_ns=6 * S, actor="ops"),
        Step(command_id="c", step="pending_approval", time_ns=7 * S, actor="executor"),
        Step(command_id="d", step="requested", time_ns=8 * S, actor="ops"),
        Step(command_id="d", step="pending_approval", time_ns=9 * S, actor="executor"),
        Step(command_id="d", step="approved", time_ns=10 * S, actor="boss", result='{"decision_id":"x"}'),
        Step(command_id="d", step="executing", time_ns=11 * S, actor="executor"),
    ]
    book = fold(steps)
    assert book.last == {"a": "executed", "b": "denied", "c": "pending_approval", "d": "executing"}
    assert book.pending() == {"c": 6 * S}
    assert book.times_of("ops") == [1 * S, 6 * S, 8 * S]
    assert book.decided_by == {"d": "x"}
    assert book.requester["d"] == "ops"
