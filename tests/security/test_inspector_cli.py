"""The MCP Inspector CLI (a client nobody here wrote, on the Node 22 it needs, both from npm in
tests/clients/inspector): its strict tool-schema check, tool calls (one far over the byte cap), prompts and
resources, over Streamable HTTP and over stdio. Installed with npm on first use; skipped without npm except
under CI (CI=true), where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from query_mcp.auth.scopes import PROMPT_TOOLS, TOOL_SCOPES
from tests.security.conftest import ADMIN, BULK_HOST, Service
from tests.security.test_foreign_clients import BIG, _check_cut

INSPECTOR_DIR = Path(__file__).resolve().parents[1] / "clients" / "inspector"
ROOT = Path(__file__).resolve().parents[2]


def _installed() -> Path:
    """The inspector's directory with node_modules installed; skip without npm unless under CI."""
    if not (INSPECTOR_DIR / "node_modules" / "@modelcontextprotocol" / "inspector").is_dir():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            if os.environ.get("CI") == "true":
                pytest.fail("node and npm are needed for the MCP Inspector CLI test")
            pytest.skip("node/npm not installed")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=INSPECTOR_DIR, check=True, timeout=600)
    return INSPECTOR_DIR / "node_modules" / ".bin"


def _inspect(target: list[str], *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """One Inspector CLI call: (exit code, its JSON answer or None, stderr)."""
    bin_dir = _installed()
    run_env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}") | (env or {})
    # A server command goes last, after "--": everything behind it is the server's.
    cut = target.index("--") if "--" in target else len(target)
    done = subprocess.run(
        [str(bin_dir / "mcp-inspector"), "--cli", *target[:cut], *args, *target[cut:]],
        capture_output=True,
        text=True,
        timeout=180,
        env=run_env,
        cwd=INSPECTOR_DIR,
        check=False,
    )
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = None
    return done.returncode, answer, done.stderr


def _http(svc: Service) -> list[str]:
    return [svc.url, "--transport", "http", "--header", f"Authorization: Bearer {ADMIN}"]


def test_strict_schema_check_passes_over_http(svc: Service) -> None:
    code, listed, err = _inspect(_http(svc), "--method", "tools/list", "--strict")
    assert code == 0, err
    assert {t["name"] for t in listed["tools"]} == set(TOOL_SCOPES)
    assert err.strip() == "", f"the strict check reported portability problems: {err}"


def test_tool_calls_including_a_result_over_the_byte_cap(svc: Service, bulk: int) -> None:
    pairs = [f"{k}={v}" for k, v in BIG["arguments"].items()]
    call = ("--method", "tools/call", "--tool-name", "search_syslog", "--tool-arg", *pairs)
    code, big, err = _inspect(_http(svc), *call)
    assert code == 0 and big is not None, err
    text = big["content"][0]["text"]
    assert not big["isError"] and json.loads(text) == big["structuredContent"]
    _check_cut(big["structuredContent"], len(text.encode()))
    kept, cursor = big["structuredContent"]["count"], big["structuredContent"]["cursor"]
    more = (*call, f"cursor={cursor}", "limit=2")  # the next page: exactly the two lines after the cut
    code, page, err = _inspect(_http(svc), *more)
    assert code == 0 and page is not None and not page["isError"], err
    assert [int(row["Message"][:5]) for row in page["structuredContent"]["items"]] == [kept, kept + 1]

    calls = [
        ("get_syslog_summary", [f"host_filter=^{BULK_HOST}$", "start_time=-3d"]),
        ("get_node_list", []),
        ("get_mib_tree", ["root=system"]),
    ]
    for tool, tool_args in calls:
        extra = ["--tool-arg", *tool_args] if tool_args else []
        code, answer, err = _inspect(_http(svc), "--method", "tools/call", "--tool-name", tool, *extra)
        assert code == 0 and answer is not None and not answer["isError"], (tool, err, answer)
        assert json.loads(answer["content"][0]["text"]) == answer["structuredContent"], tool

    code, wrong, err = _inspect(
        _http(svc), "--method", "tools/call", "--tool-name", "search_syslog", "--tool-arg", f"host={BULK_HOST}"
    )
    assert wrong is not None and wrong["isError"], (code, err)
    assert "unknown argument host; search_syslog accepts" in wrong["content"][0]["text"]


def test_prompts_and_resources(svc: Service) -> None:
    code, prompts, err = _inspect(_http(svc), "--method", "prompts/list")
    assert code == 0, err
    assert {p["name"] for p in prompts["prompts"]} == set(PROMPT_TOOLS)
    code, got, err = _inspect(
        _http(svc), "--method", "prompts/get", "--prompt-name", "investigate_host", "--prompt-args", "host=router1"
    )
    assert code == 0 and "^router1$" in got["messages"][0]["content"]["text"], err
    code, listed, err = _inspect(_http(svc), "--method", "resources/list")
    assert code == 0 and "netobs://tables" in {r["uri"] for r in listed["resources"]}, err
    code, read, err = _inspect(_http(svc), "--method", "resources/read", "--uri", "netobs://tables/syslog")
    assert code == 0, err
    assert "template_id" in {c["name"] for c in json.loads(read["contents"][0]["text"])["columns"]}


def test_stdio_transport(svc: Service, tmp_path: Path) -> None:
    """The Inspector launches `netobs mcp --stdio` itself; this process holds the store, so netobs relays."""
    server_env = {
        "NETOBS_DATA_DIR": str(tmp_path),
        "NETOBS_CLICKHOUSE_DSN": svc.config.clickhouse.dsn,
        "NETOBS_CLICKHOUSE_DATABASE": svc.config.clickhouse.database,
        "NETOBS_MCP_PORT": str(svc.config.mcp.port),
        "NETOBS_MCP_TOKEN": ADMIN,
        "NETOBS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    target = [
        "--transport",
        "stdio",
        "--cwd",
        str(ROOT),
        *[item for key, value in server_env.items() for item in ("-e", f"{key}={value}")],
        "--",
        sys.executable,
        "-m",
        "netobs",
        "mcp",
        "--stdio",
    ]
    code, listed, err = _inspect(target, "--method", "tools/list", "--strict")
    assert code == 0 and listed is not None, err
    assert {t["name"] for t in listed["tools"]} == set(TOOL_SCOPES)
    # stderr also carries the server's own (chdb saying the store is held, before netobs relays): only the
    # strict check's findings matter here.
    assert "Issue:" not in err and " across " not in err, err
    code, answer, err = _inspect(target, "--method", "tools/call", "--tool-name", "get_node_list")
    assert code == 0 and answer is not None and not answer["isError"], err
    assert answer["structuredContent"]["items"][0]["ID"] == "n1"
