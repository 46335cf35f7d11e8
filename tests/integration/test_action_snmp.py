"""The executor's SNMP actions against a real net-snmp agent on 127.0.0.1.

What was set is read back twice: with snmp_walk and with net-snmp's own snmpget (the oracle); walks are
compared with net-snmp's snmpwalk. The agent's snmpInSetRequests counter shows how many SET requests
reached it, so one snmp_set call is seen to be exactly one SET on the wire.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from executor.snmp import ActionFailed, ActionTimeout, credential_for, snmp_get, snmp_set, snmp_walk
from tests.integration.snmp_fixtures import ARP_CONFIG, ARP_IP, ARP_MAC
from tests.snmpd import CREDENTIALS, HOST, WRONG_COMMUNITY, Snmpd, cli_args, free_udp_port

pytestmark = pytest.mark.integration

SNMPWALK = shutil.which("snmpwalk") or "/usr/bin/snmpwalk"
SYS_CONTACT, SYS_LOCATION = "1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.6.0"
SNMP_IN_SET_REQUESTS = "1.3.6.1.2.1.11.17.0"
ENABLE_AUTHEN_TRAPS = "1.3.6.1.2.1.11.30.0"
ONE_USER, ONE_PASSWORD = "netobs-one", "one-password-1"
EX_USER, EX_PASSWORD = "netobs-ex", "ex-password-1"
EXTRA_USERS = (
    f'createUser {ONE_USER} SHA "{ONE_PASSWORD}" AES "{ONE_PASSWORD}"',
    f"rwuser {ONE_USER} priv",
    f'createUser {EX_USER} SHA-256 "{EX_PASSWORD}" AES-256 "{EX_PASSWORD}"',
    f"rwuser {EX_USER} priv",
)
"""Users with one password for authentication and privacy, as TWSNMP FK's snmp_mode credentials have."""
TIMING = {"timeout": 2.0, "retries": 0}
"""No retries: a retransmitted SET would count twice, and loopback loses nothing."""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """An agent of this module's own (tests write sysContact/sysLocation with unique values), with the extra users."""
    with Snmpd(tmp_path_factory.mktemp("snmpd-actions"), extra_config=(*EXTRA_USERS, *ARP_CONFIG)) as snmpd:
        snmpd.credentials["one"] = credential_for("v3authpriv", "", ONE_USER, ONE_PASSWORD)
        snmpd.credentials["ex"] = credential_for("v3authprivex", "", EX_USER, EX_PASSWORD)
        yield snmpd


def marker(tag: str) -> str:
    return f"netobs {tag} {uuid.uuid4().hex[:8]}"


def set_requests(agent: Snmpd) -> int:
    """The agent's snmpInSetRequests, read with net-snmp's snmpget."""
    value = agent.get(SNMP_IN_SET_REQUESTS)
    assert value is not None, "the agent did not answer snmpget"
    return int(value)


def net_snmp_walk(agent: Snmpd, oid: str) -> list[str]:
    """The dotted OIDs net-snmp's snmpwalk finds under oid."""
    done = subprocess.run(
        [SNMPWALK, *cli_args(CREDENTIALS["v2c"]), "-t", "2", "-r", "0", "-On", "-Oq", agent.address, oid],
        capture_output=True,
        text=True,
        env={**os.environ, "MIBS": ""},
        timeout=30,
        check=True,
    )
    return [line.split(" ", 1)[0].lstrip(".") for line in done.stdout.splitlines() if line.startswith(".")]


@pytest.mark.parametrize("name", ["v2c-rw", "v3authpriv", "v3authprivex", "one", "ex"])
async def test_set_is_read_back_by_walk_and_by_net_snmp(agent: Snmpd, name: str) -> None:
    credential = agent.credentials[name]
    contact, location = marker(f"{name} contact"), marker(f"{name} location")
    answered = await snmp_set(HOST, agent.port, credential, "sysContact.0", "string", contact, **TIMING)
    assert answered == [{"Name": "sysContact.0", "OID": SYS_CONTACT, "Type": "OctetString", "Value": contact}]
    answered = await snmp_set(HOST, agent.port, credential, SYS_LOCATION, "STRING", location, **TIMING)
    assert answered == [{"Name": "sysLocation.0", "OID": SYS_LOCATION, "Type": "OctetString", "Value": location}]

    rows, truncated = await snmp_walk(HOST, agent.port, credential, "system", max_rows=1000, **TIMING)
    by_name = {row["Name"]: row for row in rows}
    assert not truncated
    assert by_name["sysContact.0"]["Value"] == contact
    assert by_name["sysLocation.0"]["Value"] == location
    assert agent.get(SYS_CONTACT, name) == f'"{contact}"'
    assert agent.get(SYS_LOCATION, "v2c") == f'"{location}"'


async def test_a_utf8_string_arrives_as_its_utf8_bytes(agent: Snmpd) -> None:
    text = f"Tōkyō ラック {uuid.uuid4().hex[:4]}"
    await snmp_set(HOST, agent.port, CREDENTIALS["v2c-rw"], SYS_LOCATION, "string", text, **TIMING)
    shown = agent.get(SYS_LOCATION)  # net-snmp prints non-ASCII strings as hex bytes
    assert shown is not None
    assert bytes.fromhex(shown.strip('"')) == text.encode("utf-8")
    (row,) = await snmp_get(HOST, agent.port, CREDENTIALS["v2c"], [SYS_LOCATION], **TIMING)
    assert row["Value"] == text


async def test_an_integer_set(agent: Snmpd) -> None:
    """snmpEnableAuthenTraps is INTEGER {enabled(1), disabled(2)}: writable, and checked by the agent."""
    for wanted in ("2", "1"):
        rows = await snmp_set(
            HOST, agent.port, CREDENTIALS["v3authprivex"], ENABLE_AUTHEN_TRAPS, "integer", wanted, **TIMING
        )
        assert [(row["Name"], row["Type"], row["Value"]) for row in rows] == [
            ("snmpEnableAuthenTraps.0", "Integer", wanted)
        ]
        assert agent.get(ENABLE_AUTHEN_TRAPS) == wanted
    with pytest.raises(ActionFailed, match=r"^snmpset snmpEnableAuthenTraps\.0: wrongValue$"):
        await snmp_set(HOST, agent.port, CREDENTIALS["v2c-rw"], ENABLE_AUTHEN_TRAPS, "integer", "-2147483648", **TIMING)


async def test_each_snmp_set_is_exactly_one_set_request(agent: Snmpd) -> None:
    """snmpInSetRequests counts SETs that passed access control, accepted or not (net-snmp)."""
    calls = [
        ("v2c-rw", SYS_CONTACT, "string", marker("count"), ""),
        ("v3authpriv", SYS_LOCATION, "string", marker("count"), ""),
        ("one", SYS_CONTACT, "string", marker("count"), ""),
        ("v2c-rw", "sysDescr.0", "string", "not writable", "notWritable"),
        ("v3authpriv", SYS_CONTACT, "integer", "7", "wrongType"),
    ]
    for name, oid, set_type, value, refused in calls:
        before = set_requests(agent)
        try:
            rows = await snmp_set(HOST, agent.port, agent.credentials[name], oid, set_type, value, **TIMING)
            outcome = rows[0]["Value"]
        except ActionFailed as exc:
            outcome = str(exc).rpartition(": ")[2]
        assert outcome == (refused or value)
        assert set_requests(agent) == before + 1, (name, oid, set_type)

    before = set_requests(agent)
    with pytest.raises(ActionFailed, match="integer takes an integer"):
        await snmp_set(HOST, agent.port, CREDENTIALS["v2c-rw"], SYS_CONTACT, "integer", "seven", **TIMING)
    assert set_requests(agent) == before, "a value that does not fit its type is not sent"

    before = set_requests(agent)
    rows = await snmp_get(HOST, agent.port, CREDENTIALS["v3authpriv"], [SNMP_IN_SET_REQUESTS], **TIMING)
    assert rows[0]["Name"] == "snmpInSetRequests.0" and rows[0]["Type"] == "Counter32"
    assert int(rows[0]["Value"]) == before


async def test_concurrent_calls_keep_their_own_credentials(agent: Snmpd) -> None:
    """Concurrent sets on one loop, the same v3 user with the right and a wrong password side by side."""
    right = CREDENTIALS["v3authpriv"]
    wrong = replace(right, auth_password="not-the-password")
    values = [marker(f"concurrent {i}") for i in range(6)]
    before = set_requests(agent)
    calls = [snmp_set(HOST, agent.port, right, SYS_LOCATION, "string", v, **TIMING) for v in values]
    calls += [snmp_set(HOST, agent.port, wrong, SYS_LOCATION, "string", "never", **TIMING) for _ in range(3)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert [o[0]["Value"] for o in outcomes[:6]] == values  # type: ignore[index]
    assert all(isinstance(o, ActionFailed) and "authentication failed" in str(o) for o in outcomes[6:]), outcomes
    assert set_requests(agent) == before + 6
    assert agent.get(SYS_LOCATION) in {f'"{v}"' for v in values}


async def test_walk_matches_net_snmp_and_truncates_exactly(agent: Snmpd) -> None:
    expected = net_snmp_walk(agent, "1.3.6.1.2.1.1")
    assert len(expected) > 5
    rows, truncated = await snmp_walk(HOST, agent.port, CREDENTIALS["v2c"], "system", max_rows=1000, **TIMING)
    assert [row["OID"] for row in rows] == expected and not truncated
    assert rows[0]["Name"] == "sysDescr.0" and rows[0]["Type"] == "OctetString"
    assert rows[0]["Value"] == agent.get("1.3.6.1.2.1.1.1.0", "v2c").strip('"')  # type: ignore[union-attr]
    kinds = {row["Name"].split(".")[0]: row["Type"] for row in rows}
    assert kinds["sysUpTime"] == "TimeTicks" and kinds["sysObjectID"] == "ObjectIdentifier"
    assert all(row["Value"].isdigit() for row in rows if row["Type"] == "TimeTicks")

    for max_rows, cut in ((3, True), (len(expected) - 1, True), (len(expected), False)):
        rows, truncated = await snmp_walk(
            HOST, agent.port, CREDENTIALS["v3authpriv"], "1.3.6.1.2.1.1", max_rows=max_rows, **TIMING
        )
        assert [row["OID"] for row in rows] == expected[:max_rows]
        assert truncated is cut, max_rows

    v1_rows, truncated = await snmp_walk(HOST, agent.port, CREDENTIALS["v1"], "system", max_rows=1000, **TIMING)
    assert [row["OID"] for row in v1_rows] == expected and not truncated


async def test_walk_of_an_instance_and_of_nothing(agent: Snmpd) -> None:
    for name in ("v2c", "v1"):
        rows, truncated = await snmp_walk(HOST, agent.port, CREDENTIALS[name], "sysName.0", max_rows=10, **TIMING)
        assert [row["Name"] for row in rows] == ["sysName.0"] and not truncated
        assert await snmp_walk(HOST, agent.port, CREDENTIALS[name], "1.3.6.1.2.1.1.99", max_rows=10, **TIMING) == (
            [],
            False,
        )


async def test_get_renders_each_type(agent: Snmpd) -> None:
    arp = f"1.3.6.1.2.1.4.22.1.2.1.{ARP_IP}"
    oids = ["sysUpTime.0", "sysObjectID.0", "ipAdEntAddr.127.0.0.1", arp, "1.3.6.1.2.1.1.99.0", "ifIndex.1"]
    rows = await snmp_get(HOST, agent.port, CREDENTIALS["v3auth"], oids, **TIMING)
    assert [(row["Name"], row["Type"]) for row in rows] == [
        ("sysUpTime.0", "TimeTicks"),
        ("sysObjectID.0", "ObjectIdentifier"),
        ("ipAdEntAddr.127.0.0.1", "IpAddress"),
        (f"ipNetToMediaPhysAddress.1.{ARP_IP}", "OctetString"),
        ("system.99.0", "noSuchObject"),
        ("ifIndex.1", "Integer"),
    ]
    values = [row["Value"] for row in rows]
    assert values[1] == agent.get("1.3.6.1.2.1.1.2.0").lstrip(".")  # type: ignore[union-attr]
    assert values[2:] == ["127.0.0.1", ARP_MAC, "noSuchObject", "1"]


async def test_agent_errors_are_action_failed_without_secrets(agent: Snmpd) -> None:
    rw = CREDENTIALS["v2c-rw"]
    with pytest.raises(ActionFailed, match=r"^snmpset sysDescr\.0: notWritable$"):
        await snmp_set(HOST, agent.port, rw, "sysDescr.0", "string", "x", **TIMING)
    with pytest.raises(ActionFailed, match=r"^snmpset sysContact\.0: noAccess$"):
        await snmp_set(HOST, agent.port, CREDENTIALS["v2c"], SYS_CONTACT, "string", "x", **TIMING)
    with pytest.raises(ActionFailed, match=r"^snmpset sysContact\.0: wrongType$"):
        await snmp_set(HOST, agent.port, rw, SYS_CONTACT, "gauge32", "5", **TIMING)
    with pytest.raises(ActionFailed, match=r"^snmpset sysContact\.0: wrongLength$"):
        await snmp_set(HOST, agent.port, rw, SYS_CONTACT, "string", "x" * 300, **TIMING)  # DisplayString: 255

    wrong_password = credential_for("v3authpriv", "", ONE_USER, "a-wrong-password")
    with pytest.raises(ActionFailed, match="authentication failed") as failed:
        await snmp_get(HOST, agent.port, wrong_password, ["sysName.0"], **TIMING)
    assert "a-wrong-password" not in str(failed.value)
    with pytest.raises(ActionFailed, match="does not know this SNMPv3 user"):
        await snmp_get(HOST, agent.port, credential_for("v3auth", "", "nobody", ONE_PASSWORD), ["sysName.0"], **TIMING)

    with pytest.raises(ActionFailed, match=r"unknown MIB object 'noSuchThing\.0'"):
        await snmp_walk(HOST, agent.port, rw, "noSuchThing.0", max_rows=10, **TIMING)
    with pytest.raises(ActionFailed, match="not an IP address"):
        await snmp_get("agent.example", agent.port, rw, ["sysName.0"], **TIMING)


async def test_silence_is_action_timeout(agent: Snmpd) -> None:
    """A v2c agent does not answer a wrong community; nothing answers on a port nobody listens on."""
    with pytest.raises(ActionTimeout) as timed_out:
        await snmp_set(HOST, agent.port, WRONG_COMMUNITY, SYS_CONTACT, "string", "x", timeout=0.5, retries=1)
    message = str(timed_out.value)
    assert message.startswith(f"no answer from {agent.address} within 0.5 s (1 retry)")
    assert WRONG_COMMUNITY.community not in message

    wrong_priv = replace(CREDENTIALS["v3authpriv"], priv_password="not-the-privacy-password")
    with pytest.raises(ActionTimeout):  # net-snmp drops what it cannot decrypt
        await snmp_get(HOST, agent.port, wrong_priv, ["sysName.0"], timeout=0.5, retries=0)
    with pytest.raises(ActionTimeout, match=r"within 0\.3 s \(2 retries\)"):
        await snmp_walk(HOST, free_udp_port(), CREDENTIALS["v2c"], "system", max_rows=10, timeout=0.3, retries=2)
