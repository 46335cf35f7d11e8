"""The monitoring read tools against the real embedded ClickHouse, called through the mcp SDK's client.

Fixture rows go straight into the tables (the writers are tested elsewhere); each test asks one tool
what an agent would and checks TWSNMP FK's field names, the filters, the limits (out of range: refused) and the errors.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client
from mcp.server import MCPServer

from common import clickhouse, migrations
from query_mcp.store import Store
from query_mcp.tools import addresses, inventory, monitoring, traps_and_events
from query_mcp.tools.args import harden
from query_mcp.tools.logs.cursor import Cursors
from query_mcp.tools.logs.paging import Paging

pytestmark = pytest.mark.integration

DB = "monitoring_tools_test"
NOW = datetime.now(UTC).replace(tzinfo=None)
"""The clock the rows are seeded against; the server fixture takes it again when it seeds, since the tools' relative
windows ("-2h") follow the real clock and the suite may reach this module many minutes after collecting it."""
CISCO_MAC = "00:00:0c:01:02:03"


def ago(**kw) -> datetime:
    return NOW - timedelta(**kw)


def _insert(client, table: str, rows: list[dict]) -> None:
    """Rows as dicts; columns left out take their defaults (Kafka offsets and such)."""
    columns = list(rows[0])
    client.insert(f"{DB}.{table}", [[row[c] for c in columns] for row in rows], column_names=columns)


def _node(id_: str, name: str, ip: str, mac: str = "", deleted: bool = False, version: int = 1) -> dict:
    return {
        "id": id_,
        "name": name,
        "ip": ip,
        "mac": mac,
        "icon": "desktop",
        "x": 10,
        "y": 20,
        "deleted": deleted,
        "updated_at": NOW,
        "actor": "test",
        "version": version,
    }


def _polling(id_: str, node_id: str, name: str, kind: str, params=None, deleted=False, version=1) -> dict:
    return {
        "id": id_,
        "node_id": node_id,
        "name": name,
        "kind": kind,
        "params": params or {},
        "level": "low",
        "logging": True,
        "deleted": deleted,
        "updated_at": NOW,
        "actor": "test",
        "version": version,
    }


def _event(id_: str, time: datetime, type_: str, level: str, node: str, text: str, **more) -> dict:
    return {
        "id": id_,
        "time": time,
        "type": type_,
        "level": level,
        "node_name": node,
        "event": text,
        "last_level": more.get("last_level", ""),
        "node_id": more.get("node_id", ""),
        "polling_id": more.get("polling_id", ""),
        "downtime_s": more.get("downtime_s", 0.0),
    }


def _trap(time: datetime, source: str, oid: str, name: str, **more) -> dict:
    return {
        "received_at": time,
        "source": source,
        "version": more.get("version", "v2c"),
        "pdu": "trap",
        "trap_oid": oid,
        "trap_name": name,
        "uptime": 5,
        "enterprise": more.get("enterprise", ""),
        "agent_address": more.get("agent_address", ""),
        "generic_trap": more.get("generic_trap", -1),
        "specific_trap": more.get("specific_trap", -1),
        "varbind_oids": more.get("oids", []),
        "varbind_names": more.get("names", []),
        "varbind_types": more.get("types", []),
        "varbind_values": more.get("values", []),
        "variables": more.get("variables", ""),
    }


def _sighting(ip: str, mac: str, first: datetime, last: datetime) -> dict:
    return {"ip": ip, "mac": mac, "first_seen": first, "last_seen": last, "learnt_from": "n1"}


def _cert(
    server: str,
    port: int,
    serial: str,
    not_before: datetime,
    not_after: datetime,
    last: datetime,
    subject: str = "CN=site",
    error: str = "",
) -> dict:
    return {
        "server": server,
        "port": port,
        "serial": serial,
        "polling_id": "p9",
        "subject": subject,
        "issuer": "CN=CA",
        "not_before": not_before,
        "not_after": not_after,
        "verified": not error,
        "error": error,
        "first_seen": not_before,
        "last_seen": last,
    }


def _seed(client) -> None:
    """Rows that FINAL must fold go in separate inserts: ClickHouse folds them within one insert by itself."""
    _insert(client, "nodes", [_node("n1", "core-sw-old", "10.0.0.1", CISCO_MAC, version=1)])  # replaced below
    _insert(
        client,
        "nodes",
        [
            _node("n1", "core-sw1", "10.0.0.1", CISCO_MAC, version=2),
            _node("n2", "web1", "10.0.0.20", version=3),
            _node("n3", "gone", "10.0.0.3", deleted=True, version=4),
        ],
    )
    _insert(
        client,
        "node_state",
        [
            {"node_id": "n1", "node_name": "core-sw1", "state": "high", "since": ago(minutes=7), "updated_at": NOW},
        ],
    )
    network = {"x": 5, "y": 6, "updated_at": NOW, "actor": "test"}
    _insert(
        client,
        "networks",
        [
            {
                "id": "net1",
                "name": "lab",
                "ip": "10.0.0.0/24",
                "ports": ["Gi0/1=up", "Gi0/2=down"],
                "description": "lab net",
                "deleted": False,
                "version": 1,
                **network,
            },
            {
                "id": "net2",
                "name": "old",
                "ip": "10.9.0.0/24",
                "ports": [],
                "description": "",
                "deleted": True,
                "version": 2,
                **network,
            },
        ],
    )
    _insert(
        client,
        "pollings",
        [
            _polling("p1", "n1", "ping core", "ping"),
            _polling("p2", "n2", "http web", "http", {"url": "http://admin:s3cret@10.0.0.20/x", "method": "GET"}),
            _polling("p3", "n3", "ping gone", "ping"),  # its node is deleted
            _polling("p4", "n1", "deleted", "tcp", deleted=True),
        ],
    )
    _insert(
        client,
        "polling_state",
        [
            {
                "polling_id": "p1",
                "node_id": "n1",
                "state": "high",
                "since": ago(minutes=7),
                "last_time": ago(minutes=1),
                "last_reason": "timeout",
                "last_result": '{"rtt_ms": 1.5, "loss": 1}',
                "updated_at": NOW,
            },
        ],
    )
    _insert(
        client,
        "polling_log",
        [
            {
                "time": ago(minutes=150 - i),
                "polling_id": "p1",
                "node_id": "n1",
                "polling_name": "ping core",
                "node_name": "core-sw1",
                "kind": "ping",
                "outcome": "ok",
                "state": "normal",
                "duration_ms": 1.0,
                "values": {"rtt_ms": float(i), "loss": 0.0} | ({"ttl": 64.0} if i % 2 else {}),
                "texts": {"from": "10.0.0.1"},
                "kafka_offset": i,
            }
            for i in range(150)
        ],
    )
    change = _event(
        "e1",
        ago(minutes=10),
        "polling",
        "high",
        "core-sw1",
        "Change polling state:ping core(ping)",
        last_level="normal",
        node_id="n1",
        polling_id="p1",
    )
    _insert(client, "event_log", [change])
    _insert(client, "event_log", [change])  # a replay: FINAL keeps one
    _insert(
        client,
        "event_log",
        [
            _event("e2", ago(hours=2), "polling", "normal", "core-sw1", "old event", downtime_s=30.0),
            _event("e3", ago(minutes=5), "mcp", "info", "web1", "checked by agent"),
            *[_event(f"b{i}", ago(minutes=30, seconds=i), "bulk", "debug", "", f"bulk {i}") for i in range(120)],
        ],
    )
    _insert(
        client,
        "snmp_traps",
        [
            _trap(
                ago(minutes=5),
                "10.0.0.1",
                "1.3.6.1.6.3.1.1.5.3",
                "IF-MIB::linkDown",
                oids=["1.3.6.1.2.1.2.2.1.1.3"],
                names=["IF-MIB::ifIndex.3"],
                types=["Integer32"],
                values=["3"],
                variables="IF-MIB::ifIndex.3=3",
            ),
            _trap(
                ago(minutes=3),
                "10.0.0.99",
                "1.3.6.1.6.3.1.1.5.1",
                "SNMPv2-MIB::coldStart",
                version="v1",
                enterprise="1.3.6.1.4.1.8072",
                agent_address="10.0.0.99",
                generic_trap=0,
                specific_trap=0,
            ),
            _trap(ago(hours=3), "10.0.0.1", "1.3.6.1.6.3.1.1.5.4", "IF-MIB::linkUp"),
        ],
    )
    _insert(
        client,
        "ip_address",
        [
            _sighting("10.0.0.1", CISCO_MAC, ago(days=2), ago(days=1)),
            _sighting("10.0.0.1", CISCO_MAC, ago(hours=5), ago(minutes=2)),  # folded with the one above
            _sighting("10.0.0.10", "0:1b:21:aa:bb:cc", ago(hours=1), ago(minutes=1)),  # as net-snmp prints it
            _sighting("10.0.0.2", "02:42:ac:11:00:02", ago(hours=1), ago(minutes=1)),
            _sighting("10.0.0.77", CISCO_MAC, ago(days=9), ago(days=8)),
        ],
    )
    epoch = datetime(1970, 1, 1)
    _insert(
        client,
        "certificates",
        [
            _cert("www.example.com", 443, "01", ago(days=400), ago(days=10), ago(days=11)),  # replaced by 02
            _cert("www.example.com", 443, "02", ago(days=10), NOW + timedelta(days=90), ago(minutes=5)),
            _cert("soon.example.com", 8443, "0A", ago(days=80), NOW + timedelta(days=3), ago(minutes=5)),
            _cert("down.example.com", 443, "", epoch, epoch, ago(minutes=5), subject="", error="connection refused"),
        ],
    )
    _insert(
        client,
        "resource_monitor",
        [
            {
                "time": ago(minutes=m),
                "host": "h1",
                "process": process,
                "cpu_percent": 10.0 + m % 3,
                "memory_percent": 40.0,
                "swap_percent": 1.0,
                "disk_percent": 55.5,
                "load1": 0.5,
                "rss_bytes": 10**8,
                "consumer_lag": m,
                "insert_rate": 2000.0,
            }
            for m in range(1, 111)
            for process in ("worker", "mcp")
        ],
    )


@pytest.fixture(scope="module")
def server(chdb_path):
    global NOW
    NOW = datetime.now(UTC).replace(tzinfo=None)
    client = clickhouse.connect(f"chdb://{chdb_path}")
    client.command(f"DROP DATABASE IF EXISTS {DB}")
    migrations.apply(client, DB, 30)
    _seed(client)
    store = Store(f"chdb://{chdb_path}", DB, 30, size=2)
    mcp = MCPServer(name="netobs-test")
    paging = Paging(Cursors(), 1 << 20)
    for log_family in (inventory, traps_and_events):
        log_family.register(mcp, store, paging)
    for module in (addresses, monitoring):
        module.register(mcp, store)
    harden(mcp)
    return mcp


async def call(server, tool: str, args: dict | None = None):
    """The rows of a list tool, the CSV of get_polling_log_data, else the object; the text item must be the same
    JSON as structuredContent."""
    async with Client(server) as c:
        result = await c.call_tool(tool, args or {})
    text = result.content[0].text
    if result.is_error:
        raise ToolFailed(text)
    data = json.loads(text)
    assert data == result.structured_content
    if "items" in data:
        # total: every entry matched, past the limit too
        assert data["count"] == len(data["items"]) <= data["total"] and data["truncated"] is False
        return data["items"]
    return data["csv"] if tool == "get_polling_log_data" else data


class ToolFailed(Exception):
    pass


async def test_every_tool_is_listed_with_bounds_in_its_description(server):
    async with Client(server) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) == {
        "get_node_list",
        "get_network_list",
        "get_polling_list",
        "get_polling_log",
        "get_polling_log_data",
        "search_snmp_trap_log",
        "search_event_log",
        "get_ip_address_list",
        "get_ip_address_info",
        "get_mac_address_info",
        "get_server_certificate_list",
        "get_resource_monitor_list",
        "get_mib_tree",
    }
    assert "1-2000" in tools["get_polling_log"].description
    assert "100-2000" in tools["get_polling_log_data"].description
    assert "1-10000" in tools["search_event_log"].description
    assert "TrapType" in tools["search_snmp_trap_log"].description
    assert tools["get_polling_log"].input_schema["required"] == ["id"]


async def test_node_list_final_state_and_filters(server):
    nodes = await call(server, "get_node_list")
    assert [n["Name"] for n in nodes] == ["core-sw1", "web1"]  # newest version wins, deleted node gone
    core = nodes[0]
    assert list(core)[:9] == ["ID", "Name", "IP", "MAC", "State", "X", "Y", "Icon", "Description"]
    assert (core["ID"], core["IP"], core["State"], core["X"], core["Y"]) == ("n1", "10.0.0.1", "high", 10, 20)
    assert core["StateSince"].endswith("Z")
    assert nodes[1]["State"] == "unknown" and nodes[1]["StateSince"] == ""
    assert [n["Name"] for n in await call(server, "get_node_list", {"state_filter": "^unknown$"})] == ["web1"]
    assert [n["Name"] for n in await call(server, "get_node_list", {"name_filter": "^core", "ip_filter": r"\.1$"})] == [
        "core-sw1"
    ]
    assert await call(server, "get_node_list", {"ip_filter": "^192\\."}) == []


async def test_bad_regex_is_an_error_naming_the_argument(server):
    with pytest.raises(ToolFailed, match="name_filter: not a valid RE2"):
        await call(server, "get_node_list", {"name_filter": "(unclosed"})
    with pytest.raises(ToolFailed, match="variable_filter"):
        await call(server, "search_snmp_trap_log", {"variable_filter": "a{2,1}"})
    with pytest.raises(ToolFailed, match="mac_filter"):
        await call(server, "get_ip_address_list", {"mac_filter": "[z-a]"})


async def test_network_list(server):
    assert await call(server, "get_network_list") == [
        {
            "ID": "net1",
            "Name": "lab",
            "IP": "10.0.0.0/24",
            "Ports": ["Gi0/1=up", "Gi0/2=down"],
            "X": 5,
            "Y": 6,
            "Description": "lab net",
        }
    ]
    assert await call(server, "get_network_list", {"name_filter": "^nothing$"}) == []


async def test_polling_list(server):
    pollings = await call(server, "get_polling_list")
    assert [p["ID"] for p in pollings] == ["p1", "p2"]  # p3's node is deleted, p4 is deleted
    p1, p2 = pollings
    assert list(p1)[:10] == [
        "ID",
        "Name",
        "NodeID",
        "NodeName",
        "Type",
        "Level",
        "State",
        "Logging",
        "LastTime",
        "Result",
    ]
    assert (p1["NodeName"], p1["Type"], p1["Level"], p1["State"], p1["Logging"]) == (
        "core-sw1",
        "ping",
        "low",
        "high",
        True,
    )
    assert p1["Result"] == {"rtt_ms": 1.5, "loss": 1}
    assert p1["LastTime"].endswith("Z") and p1["LastReason"] == "timeout"
    assert (p2["State"], p2["LastTime"], p2["Result"]) == ("unknown", "", {})
    assert p2["Params"]["url"] == "http://***@10.0.0.20/x"
    assert "s3cret" not in json.dumps(pollings)
    assert [p["ID"] for p in await call(server, "get_polling_list", {"type_filter": "^http$"})] == ["p2"]
    assert [p["ID"] for p in await call(server, "get_polling_list", {"node_name_filter": "core"})] == ["p1"]
    assert [p["ID"] for p in await call(server, "get_polling_list", {"state_filter": "high|low"})] == ["p1"]


async def test_polling_log_newest_first_and_bounded(server):
    log = await call(server, "get_polling_log", {"id": "p1", "limit": 5})
    assert len(log) == 5
    assert list(log[0]) == ["Time", "State", "Result", "Outcome", "Reason", "DurationMs", "Error"]
    assert log[0]["Result"] == {"from": "10.0.0.1", "rtt_ms": 149.0, "loss": 0.0, "ttl": 64.0}
    assert [e["Result"]["rtt_ms"] for e in log] == [149.0, 148.0, 147.0, 146.0, 145.0]
    assert len(await call(server, "get_polling_log", {"id": "p1"})) == 100
    assert len(await call(server, "get_polling_log", {"id": "p1", "limit": 2000})) == 150
    with pytest.raises(ToolFailed, match="limit: 99999 is outside 1-2000"):
        await call(server, "get_polling_log", {"id": "p1", "limit": 99999})
    assert await call(server, "get_polling_log", {"id": "p2"}) == []  # known polling, nothing logged
    with pytest.raises(ToolFailed, match="id: no polling has id 'nope'"):
        await call(server, "get_polling_log", {"id": "nope"})
    with pytest.raises(ToolFailed, match="id: required"):
        await call(server, "get_polling_log", {"id": " "})


async def test_polling_log_pages_continue_exactly(server):
    whole = await call(server, "get_polling_log", {"id": "p1", "limit": 2000})
    pages, cursor, first = [], "", ""
    async with Client(server) as c:
        while True:
            result = await c.call_tool("get_polling_log", {"id": "p1", "limit": 60, "cursor": cursor})
            data = result.structured_content
            assert not result.is_error and data["total"] == len(whole)
            pages.append([e["Time"] for e in data["items"]])
            first = first if pages[1:] else data["cursor"]
            cursor = data["cursor"]
            if not cursor:
                break
        other = await c.call_tool("get_polling_log", {"id": "p2", "cursor": first})
    assert [len(p) for p in pages] == [60, 60, 30]
    assert [t for p in pages for t in p] == [e["Time"] for e in whole]
    assert other.is_error and "another query" in other.content[0].text


async def test_polling_log_data_csv(server):
    with pytest.raises(ToolFailed, match="limit: 5 is outside 100-2000"):
        await call(server, "get_polling_log_data", {"id": "p1", "limit": 5})
    text = await call(server, "get_polling_log_data", {"id": "p1"})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "state", "loss", "rtt_ms", "ttl"]
    assert len(rows) == 1 + 100
    assert rows[1][1:] == ["normal", "0.000000", "149.000000", "64.000000"]
    assert rows[2][1:] == ["normal", "0.000000", "148.000000", ""]  # no ttl in this poll
    assert rows[1][0] > rows[2][0]
    assert (
        len(list(csv.reader(io.StringIO(await call(server, "get_polling_log_data", {"id": "p1", "limit": 2000})))))
        == 151
    )
    assert await call(server, "get_polling_log_data", {"id": "p2"}) == "time,state"
    with pytest.raises(ToolFailed, match="id: no polling"):
        await call(server, "get_polling_log_data", {"id": "p404"})


async def test_event_log_window_filters_and_limit(server):
    events = await call(server, "search_event_log", {"type_filter": "^(polling|mcp)$"})
    assert [e["ID"] for e in events] == ["e1", "e3"]  # e2 is before the default -1h; e1 once despite the replay
    assert list(events[0])[:5] == ["Time", "Type", "Level", "Node", "Event"]
    assert events[0] | {"Time": ""} == {
        "Time": "",
        "Type": "polling",
        "Level": "high",
        "Node": "core-sw1",
        "Event": "Change polling state:ping core(ping)",
        "LastLevel": "normal",
        "NodeID": "n1",
        "PollingID": "p1",
        "Downtime": 0.0,
        "ID": "e1",
    }
    wider = await call(server, "search_event_log", {"type_filter": "polling", "start_time": "-3h"})
    assert [e["ID"] for e in wider] == ["e2", "e1"]
    assert [
        e["ID"]
        for e in await call(
            server, "search_event_log", {"start_time": "-3h", "type_filter": "polling", "newest_first": True}
        )
    ] == ["e1", "e2"]
    assert [
        e["ID"]
        for e in await call(
            server, "search_event_log", {"node_filter": "web", "level_filter": "info", "event_filter": "agent"}
        )
    ] == ["e3"]
    assert len(await call(server, "search_event_log", {"type_filter": "bulk"})) == 100
    assert len(await call(server, "search_event_log", {"type_filter": "bulk", "limit": 10000})) == 120
    assert len(await call(server, "search_event_log", {"type_filter": "bulk", "limit": 1})) == 1
    for limit in (0, 99999):
        with pytest.raises(ToolFailed, match=f"limit: {limit} is outside 1-10000"):
            await call(server, "search_event_log", {"type_filter": "bulk", "limit": limit})
    absolute = NOW - timedelta(minutes=6)
    assert [
        e["ID"] for e in await call(server, "search_event_log", {"start_time": absolute.strftime("%Y-%m-%d %H:%M:%S")})
    ] == ["e3"]
    with pytest.raises(ToolFailed, match="start_time: cannot read time"):
        await call(server, "search_event_log", {"start_time": "yesterday-ish"})
    with pytest.raises(ToolFailed, match=r"start_time .* is after end_time"):
        await call(server, "search_event_log", {"start_time": "-1h", "end_time": "-2h"})


async def test_trap_log(server):
    traps = await call(server, "search_snmp_trap_log")
    assert [t["TrapType"] for t in traps] == ["IF-MIB::linkDown", "SNMPv2-MIB::coldStart"]
    down = traps[0]
    assert list(down)[:4] == ["Time", "FromAddress", "TrapType", "Variables"]
    assert (down["FromAddress"], down["Variables"], down["Node"]) == ("10.0.0.1", "IF-MIB::ifIndex.3=3", "core-sw1")
    assert down["Varbinds"] == [
        {"OID": "1.3.6.1.2.1.2.2.1.1.3", "Name": "IF-MIB::ifIndex.3", "Type": "Integer32", "Value": "3"}
    ]
    assert traps[1]["Node"] == "" and traps[1]["GenericTrap"] == 0 and traps[1]["Enterprise"] == "1.3.6.1.4.1.8072"
    by_oid = await call(server, "search_snmp_trap_log", {"trap_type_filter": r"^1\.3\.6\.1\.6\.3\.1\.1\.5\.1$"})
    assert [t["TrapType"] for t in by_oid] == ["SNMPv2-MIB::coldStart"]
    assert [t["FromAddress"] for t in await call(server, "search_snmp_trap_log", {"from_filter": r"\.99$"})] == [
        "10.0.0.99"
    ]
    assert len(await call(server, "search_snmp_trap_log", {"variable_filter": "ifIndex"})) == 1
    wider = await call(server, "search_snmp_trap_log", {"start_time": "-4h", "newest_first": True})
    assert [t["TrapType"] for t in wider] == ["SNMPv2-MIB::coldStart", "IF-MIB::linkDown", "IF-MIB::linkUp"]


async def test_ip_address_list(server):
    entries = await call(server, "get_ip_address_list")
    assert [e["IP"] for e in entries] == ["10.0.0.1", "10.0.0.2", "10.0.0.10", "10.0.0.77"]  # numeric order
    first = entries[0]
    assert list(first)[:6] == ["IP", "MAC", "Node", "Vendor", "FirstTime", "LastTime"]
    assert (first["MAC"], first["Node"], first["Vendor"]) == ("00:00:0C:01:02:03", "core-sw1", "Cisco Systems, Inc")
    assert first["FirstTime"] < first["LastTime"]
    assert first["FirstTime"].startswith((NOW - timedelta(days=2)).strftime("%Y-%m-%d"))  # sightings folded
    assert entries[2]["Vendor"].startswith("Intel") and entries[2]["MAC"] == "00:1B:21:AA:BB:CC"
    assert [e["IP"] for e in await call(server, "get_ip_address_list", {"ip_filter": r"^10\.0\.0\.1\d*$"})] == [
        "10.0.0.1",
        "10.0.0.10",
    ]
    assert len(await call(server, "get_ip_address_list", {"limit": 2})) == 2


async def test_ip_address_info(server):
    info = await call(server, "get_ip_address_info", {"ip": " 10.0.0.1 "})
    assert (info["IP"], info["Node"], info["NodeID"], info["MAC"], info["Vendor"]) == (
        "10.0.0.1",
        "core-sw1",
        "n1",
        "00:00:0C:01:02:03",
        "Cisco Systems, Inc",
    )
    assert info["Found"] is True and info["Note"] == "" and info["AddressType"] == "private"
    assert [m["MAC"] for m in info["MACs"]] == ["00:00:0C:01:02:03"]
    web = await call(server, "get_ip_address_info", {"ip": "10.0.0.20"})
    assert (web["Node"], web["MAC"], web["MACs"], web["Found"]) == ("web1", "", [], True)
    unknown = await call(server, "get_ip_address_info", {"ip": "192.0.2.99"})
    assert (unknown["Found"], unknown["Node"], unknown["MACs"]) == (False, "", [])
    assert "192.0.2.99 is not a managed node" in unknown["Note"]
    with pytest.raises(ToolFailed, match=r"ip: '10\.0\.0\.256' is not an IPv4 or IPv6 address"):
        await call(server, "get_ip_address_info", {"ip": "10.0.0.256"})


async def test_mac_address_info(server):
    info = await call(server, "get_mac_address_info", {"mac": "0000.0c01.0203"})
    assert {k: info[k] for k in ("MAC", "Node", "IP", "Vendor")} == {
        "MAC": "00:00:0C:01:02:03",
        "Node": "core-sw1",
        "IP": "10.0.0.1",
        "Vendor": "Cisco Systems, Inc",
    }
    assert [i["IP"] for i in info["IPs"]] == ["10.0.0.1", "10.0.0.77"]  # most recently seen first
    assert info["LocallyAdministered"] is False and info["Found"] is True
    intel = await call(server, "get_mac_address_info", {"mac": "00:1B:21:AA:BB:CC"})  # stored as 0:1b:21:...
    assert [i["IP"] for i in intel["IPs"]] == ["10.0.0.10"] and intel["IP"] == "10.0.0.10"
    docker = await call(server, "get_mac_address_info", {"mac": "02-42-AC-11-00-02"})
    assert (docker["IP"], docker["Node"], docker["Vendor"], docker["LocallyAdministered"]) == ("10.0.0.2", "", "", True)
    unknown = await call(server, "get_mac_address_info", {"mac": "00:00:0c:ff:ff:ff"})
    assert (unknown["Found"], unknown["Vendor"], unknown["IPs"]) == (False, "Cisco Systems, Inc", [])
    assert "has not been seen" in unknown["Note"]
    with pytest.raises(ToolFailed, match="mac: 'zz:00' is not a MAC address"):
        await call(server, "get_mac_address_info", {"mac": "zz:00"})


async def test_server_certificates(server):
    certs = await call(server, "get_server_certificate_list")
    assert [(c["Server"], c["Port"], c["SerialNumber"]) for c in certs] == [
        ("down.example.com", 443, ""),
        ("soon.example.com", 8443, "0A"),
        ("www.example.com", 443, "02"),
    ]
    assert list(certs[0])[:12] == [
        "State",
        "Server",
        "Port",
        "Subject",
        "Issuer",
        "SerialNumber",
        "Verify",
        "NotAfter",
        "NotBefore",
        "Error",
        "FirstTime",
        "LastTime",
    ]
    assert [c["State"] for c in certs] == ["high", "low", "normal"]
    assert certs[0]["Error"] == "connection refused" and certs[0]["NotAfter"] == "" and certs[0]["DaysLeft"] is None
    assert 2.9 < certs[1]["DaysLeft"] < 3.1


async def test_resource_monitor(server):
    rows = await call(
        server, "get_resource_monitor_list", {"start_time": "-2h", "points": 10, "process_filter": "^worker$"}
    )
    assert list(rows[0])[:6] == ["Time", "CPUUsage", "MemoryUsage", "SwapUsage", "DiskUsage", "Load"]
    assert {r["Process"] for r in rows} == {"worker"}
    assert 10 <= len(rows) <= 11  # 12-minute buckets over two hours
    assert sum(r["Samples"] for r in rows) == 110
    assert rows[0]["MemoryUsage"] == "40.00%" and rows[0]["DiskUsage"] == "55.50%" and rows[0]["Load"] == "0.50"
    assert rows == sorted(rows, key=lambda r: r["Time"])
    with pytest.raises(ToolFailed, match="points: 1 is outside 10-1440"):
        await call(server, "get_resource_monitor_list", {"points": 1})
    default = await call(server, "get_resource_monitor_list", {"points": 10})
    assert {r["Process"] for r in default} == {"worker", "mcp"}
    assert len(default) <= 2 * 11


async def test_mib_tree(server):
    tree = await call(server, "get_mib_tree")
    assert tree[0]["oid"] == "1.3.6.1" and tree[0]["name"] == "internet"
    (if_table,) = await call(server, "get_mib_tree", {"root": "IF-MIB::ifTable"})
    assert (if_table["oid"], if_table["kind"]) == ("1.3.6.1.2.1.2.2", "table")
    entry = if_table["children"][0]
    assert entry["name"] == "ifEntry"
    assert {"ifIndex", "ifDescr", "ifOperStatus"} <= {c["name"] for c in entry["children"]}
    assert (await call(server, "get_mib_tree", {"root": "1.3.6.1.2.1.2.2"}))[0]["name"] == "ifTable"
    with pytest.raises(ToolFailed, match="root: 'noSuchThing'"):
        await call(server, "get_mib_tree", {"root": "noSuchThing"})
