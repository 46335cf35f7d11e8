"""The log tools an agent answers with (issue 16 parts 2 and 3), on chdb with real rows, through the mcp SDK's
client and the full server (strict inputs, output schemas): cursor pages that continue exactly, a template
filter that finds every line of a pattern whatever id it was mined under, counts, new patterns and spikes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import clickhouse_connect
import pytest
from mcp import Client
from mcp.server import MCPServer

from common import migrations
from query_mcp.service import build_server
from query_mcp.store import Store
from schemas.tables import EVENT_LOG_COLUMNS, SNMP_TRAP_COLUMNS, SYSLOG_COLUMNS, SYSLOG_PATTERN_COLUMNS

pytestmark = pytest.mark.integration

DB = f"answers_{uuid.uuid4().hex[:8]}"
WINDOW_AGO = timedelta(minutes=50)
"""How long before the seeding the window's lines are: inside the tools' default window of the last hour."""
OLD, CURRENT, USERS, DISK = 101, 102, 201, 301
"""OLD was the link pattern's template before Drain generalised it into CURRENT (syslog_patterns says so)."""
TEMPLATES = {OLD: "link Gi0/1 down", CURRENT: "link <*> down", USERS: "user <*> logged in", DISK: "disk <*> full"}


def _line(at: datetime, host: str, tid: int, n: int, offset: int, level: str = "info") -> dict[str, Any]:
    message = {OLD: "link Gi0/1 down", CURRENT: f"link Gi0/{n} down", USERS: f"user u{n} logged in"}.get(
        tid, f"disk /var{n} full"
    )
    return {
        "received_at": at, "event_time": at, "source": "10.0.0.1", "transport": "udp", "host": host,
        "facility": 3, "severity": {"info": 6, "high": 2, "low": 3}[level], "level": level, "type": "daemon",
        "tag": "app", "pid": "", "msgid": "", "structured_data": "", "message": message, "template_id": tid,
        "parse_error": False, "ingest_flags": 0, "raw_head": f"<27>{host} ".encode(), "raw_tail": b"",
        "raw_whole": False, "kafka_partition": offset % 2,
        "kafka_offset": offset // 3, "line_no": offset % 3, "compliance": "rfc3164", "parse_issues": [],
    }  # fmt: skip


def _syslog(now: datetime) -> list[dict[str, Any]]:
    """A day of steady lines, then a window with a burst of the link pattern and a new error pattern on r2, r3.
    Several lines share a time, so the cursor's tiebreak matters."""
    rows, offset = [], 0
    for hour in range(24, 1, -1):
        for i in range(6):
            at = now - timedelta(hours=hour, minutes=i)
            rows.append(_line(at, f"r{i % 4 + 1}", OLD if hour > 12 else CURRENT, i, offset))
            rows.append(_line(at, f"r{i % 4 + 1}", USERS, i, offset + 1))
            offset += 2
    for i in range(40):
        at = now - WINDOW_AGO + timedelta(seconds=30 * (i // 4))
        rows.append(_line(at, "r1", CURRENT, i, offset, "low"))
        rows.append(_line(at, f"r{2 + i % 2}", DISK, i, offset + 1, "high"))
        offset += 2
    return rows


@pytest.fixture(scope="module")
def now() -> datetime:
    """The clock the rows are seeded against, taken when they are: the tools' default windows follow the real
    clock, and the suite may reach this module many minutes after collecting it."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def store(chdb_path, now: datetime) -> Store:
    admin = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    migrations.apply(admin, DB, 30)
    admin.insert(f"{DB}.syslog", [[r[c] for c in SYSLOG_COLUMNS] for r in _syslog(now)], column_names=SYSLOG_COLUMNS)
    first, window = now - timedelta(hours=24), now - WINDOW_AGO
    patterns = [
        [OLD, TEMPLATES[OLD], CURRENT, first, now - timedelta(hours=12)],
        [CURRENT, TEMPLATES[CURRENT], CURRENT, first, now - timedelta(hours=12)],
        [USERS, TEMPLATES[USERS], USERS, first, first],
        [DISK, TEMPLATES[DISK], DISK, window, window],
    ]
    admin.insert(f"{DB}.syslog_patterns", patterns, column_names=SYSLOG_PATTERN_COLUMNS)
    traps = [
        {
            "received_at": window + timedelta(seconds=i),
            "source": f"10.0.0.{1 + i % 3}",
            "version": "v2c",
            "pdu": "trap",
            "security_name": "public",
            "trap_oid": "1.3.6.1.6.3.1.1.5.3",
            "trap_name": "IF-MIB::linkDown" if i % 3 else "IF-MIB::linkUp",
            "uptime": 1,
            "enterprise": "",
            "agent_address": "",
            "generic_trap": 0,
            "specific_trap": 0,
            "varbind_oids": [],
            "varbind_names": [],
            "varbind_types": [],
            "varbind_values": [],
            "variables": "",
            "kafka_partition": 0,
            "kafka_offset": i,
            "seq": 0,
        }
        for i in range(9)
    ]
    admin.insert(f"{DB}.snmp_traps", [[t[c] for c in SNMP_TRAP_COLUMNS] for t in traps], column_names=SNMP_TRAP_COLUMNS)
    events = [
        [
            f"e{i}",
            window,
            "polling",
            "high" if i < 5 else "normal",
            "normal",
            "n",
            f"node{i % 2}",
            "p",
            "down",
            0.0,
            0,
            i,
        ]
        for i in range(7)
    ]
    admin.insert(f"{DB}.event_log", events, column_names=EVENT_LOG_COLUMNS)
    return Store(f"chdb://{chdb_path}", DB, 30, size=2)


@pytest.fixture(scope="module")
def server(store) -> MCPServer:
    return build_server(store)


async def call(server: MCPServer, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    async with Client(server) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def error(server: MCPServer, tool: str, args: dict[str, Any]) -> str:
    async with Client(server) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    return result.content[0].text


async def test_the_summary_id_finds_every_line_of_its_pattern(server, now):
    summary = await call(server, "get_syslog_summary", {"start_time": "-1d", "top_n": 3})
    link = next(p for p in summary["items"] if p["TemplateID"] == str(CURRENT))
    assert link["Count"] == 22 * 6 + 40  # lines mined as OLD and as CURRENT
    assert link["FirstSeenEver"] <= (now - timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert link["TopHosts"][0] == "r1"
    for tid in (CURRENT, OLD):  # an older id resolves to the same pattern
        found = await call(server, "search_syslog", {"start_time": "-1d", "template_id": str(tid), "limit": 1})
        assert found["total"] == link["Count"]
        assert found["count"] == 1 and found["cursor"]
    assert "decimal number" in await error(server, "search_syslog", {"template_id": "link"})


async def test_cursor_pages_continue_exactly(server, now):
    args = {"start_time": "-2d", "fields": ["Time", "Host", "Message", "TemplateID"]}
    whole = await call(server, "search_syslog", args | {"limit": 1000})
    assert whole["count"] == whole["total"] == len(_syslog(now)) and not whole["cursor"]
    for newest_first in (False, True):
        pages, cursor = [], ""
        while True:
            page = await call(
                server, "search_syslog", args | {"limit": 7, "cursor": cursor, "newest_first": newest_first}
            )
            assert page["total"] == whole["total"] and set(page["items"][0]) == set(args["fields"])
            pages += page["items"]
            cursor = page["cursor"]
            if not cursor:
                break
        assert pages == (whole["items"][::-1] if newest_first else whole["items"])
        assert len(pages) == whole["total"]
        assert sorted(map(json.dumps, pages)) == sorted(map(json.dumps, whole["items"]))


async def test_a_result_over_the_byte_cap_is_cut_at_whole_rows_with_a_cursor(store):
    """With max_result_bytes=4000 a 100-line page comes back cut, and its cursor goes on from the last line sent."""
    server = build_server(store, max_result_bytes=4000)
    first = await call(server, "search_syslog", {"start_time": "-1d"})
    assert first["truncated"] and 0 < first["count"] < 100 and first["cursor"]
    second = await call(server, "search_syslog", {"start_time": "-1d", "cursor": first["cursor"], "limit": 1})
    whole = await call(
        server,
        "search_syslog",
        {"start_time": "-1d", "limit": first["count"] + 1, "fields": ["Time", "Message", "Host"]},
    )
    pick = {k: second["items"][0][k] for k in ("Time", "Message", "Host")}
    assert whole["items"][-1] == pick


async def test_bad_cursors_are_named(server):
    page = await call(server, "search_syslog", {"start_time": "-1d", "limit": 1})
    forged = page["cursor"][:-3] + ("AAA" if not page["cursor"].endswith("AAA") else "BBB")
    assert "not a cursor this service issued" in await error(
        server, "search_syslog", {"start_time": "-1d", "cursor": forged}
    )
    assert "another query" in await error(
        server, "search_syslog", {"start_time": "-1d", "host_filter": "r1", "cursor": page["cursor"]}
    )
    assert "another query" in await error(server, "search_event_log", {"start_time": "-1d", "cursor": page["cursor"]})


async def test_counts_by_host_level_and_bucket(server):
    errors = await call(server, "count_syslog", {"by": "host", "level_filter": "^(high|low)$", "top_n": 2})
    assert [(i["Key"], i["Count"]) for i in errors["items"]] == [("r1", 40), ("r2", 20)]
    assert errors["matched"] == 80 and errors["others"] == 20 and errors["total"] == 3
    bucketed = await call(server, "count_syslog", {"by": "pattern", "start_time": "-1d", "bucket": "1h", "top_n": 1})
    top = bucketed["items"][0]
    assert top["Key"] == str(CURRENT) and top["Pattern"] == TEMPLATES[CURRENT]
    assert sum(top["Buckets"]) == top["Count"] and len(top["Buckets"]) == len(bucketed["bucket_starts"])
    traps = await call(server, "count_snmp_traps", {"by": "type"})
    assert [(i["Key"], i["Count"]) for i in traps["items"]] == [("IF-MIB::linkDown", 6), ("IF-MIB::linkUp", 3)]
    events = await call(server, "count_event_log", {"by": "node", "level_filter": "high"})
    assert [(i["Key"], i["Count"]) for i in events["items"]] == [("node0", 3), ("node1", 2)]


async def test_new_patterns_and_spikes(server):
    new = await call(server, "find_new_syslog_patterns", {})
    assert [(p["TemplateID"], p["Count"], sorted(p["TopHosts"])) for p in new["items"]] == [
        (str(DISK), 40, ["r2", "r3"])
    ]
    assert new["items"][0]["FirstLine"].endswith("disk /var0 full")
    assert (await call(server, "find_new_syslog_patterns", {"host_filter": "r1"}))["items"] == []
    spikes = await call(server, "find_syslog_spikes", {"by": "pattern"})
    assert [s["Key"] for s in spikes["items"]] == [str(DISK), str(CURRENT)]
    assert spikes["items"][1]["Count"] == 40 and sum(spikes["items"][1]["Buckets"]) == 40
    hosts = await call(server, "find_syslog_spikes", {"by": "host", "direction": "up"})
    assert hosts["items"][0]["Key"] == "r1"
