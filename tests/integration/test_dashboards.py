"""The Grafana dashboards in examples/grafana: every ClickHouse panel's SQL, with Grafana's macros expanded as
the ClickHouse data source plugin expands them, passes netobs's SQL checks (what the node's ClickHouse HTTP
endpoint applies) and runs on the real tables with rows in them."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from common import migrations
from query_mcp.sql.guard import check_query_tree, check_sql, tree_query

pytestmark = pytest.mark.integration

DASHBOARDS = Path(__file__).resolve().parents[2] / "examples" / "grafana" / "dashboards"
DB = "netobs_dash"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
FROM, TO = NOW - dt.timedelta(hours=6), NOW + dt.timedelta(minutes=1)


def _epoch(t: dt.datetime) -> int:
    return int(t.replace(tzinfo=dt.UTC).timestamp())


def expand(sql: str, variables: dict[str, list[str]]) -> str:
    """Grafana's expansion: template variables, then the ClickHouse plugin's time macros."""
    for name, values in variables.items():
        sql = sql.replace(f"${{{name}:singlequote}}", ",".join(f"'{v}'" for v in values))
        sql = sql.replace(f"${{{name}:raw}}", "|".join(values))
    sql = re.sub(
        r"\$__timeFilter\(([\w.]+)\)",
        lambda m: f"{m[1]} >= toDateTime({_epoch(FROM)}) AND {m[1]} <= toDateTime({_epoch(TO)})",
        sql,
    )
    sql = re.sub(
        r"\$__timeInterval\(([\w.]+)\)", lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL 60 second)", sql
    )
    sql = sql.replace("$__fromTime", f"toDateTime({_epoch(FROM)})").replace("$__toTime", f"toDateTime({_epoch(TO)})")
    assert "$" not in sql, f"a macro or variable this test does not know: {sql}"
    return sql.replace("netobs.", f"{DB}.")


def _clickhouse_targets() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        variables = {
            v["name"]: v["query"].split(",") if v["type"] == "custom" else [v["query"]]
            for v in dashboard.get("templating", {}).get("list", [])
        }
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("uid") == "netobs-clickhouse":
                    found.append((f"{path.stem}: {panel['title']}", expand(target["rawSql"], variables), target))
    return found


TARGETS = _clickhouse_targets()


@pytest.fixture(scope="module")
def client(chdb_path: Path) -> Any:
    ch = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    migrations.apply(ch, DB, 90)
    ch.insert(
        f"{DB}.syslog",
        [
            [NOW - dt.timedelta(minutes=i), "192.0.2.1", f"r{i % 3}", "err:daemon", "sshd", f"fail {i}", "low", 3, 3, 7]
            for i in range(30)
        ],
        column_names=[
            "received_at",
            "source",
            "host",
            "type",
            "tag",
            "message",
            "level",
            "severity",
            "facility",
            "template_id",
        ],
    )
    ch.insert(
        f"{DB}.syslog_patterns",
        [[7, "fail <NUM>", 0, NOW - dt.timedelta(minutes=40), NOW]],
        column_names=["template_id", "template", "current_id", "first_seen", "updated_at"],
    )
    return ch


def test_there_are_clickhouse_panels() -> None:
    assert len(TARGETS) >= 6


@pytest.mark.parametrize(("panel", "sql", "target"), TARGETS, ids=[t[0] for t in TARGETS])
def test_panel_sql_passes_the_checks_and_runs(client: Any, panel: str, sql: str, target: dict[str, Any]) -> None:
    checked = check_sql(sql, DB, 20_000)
    check_query_tree("\n".join(row[0] for row in client.query(tree_query(checked.select)).result_rows), DB)
    result = client.query(checked.statement)
    if "Syslog lines" in panel or "Top hosts" in panel or "Top patterns" in panel or "New patterns" in panel:
        assert result.result_rows, f"{panel}: no rows from rows that are there"
    if target["format"] == 0:  # a time series: a time column first
        assert result.column_names[0] == "time"
