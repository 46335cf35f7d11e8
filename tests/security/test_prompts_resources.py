"""Prompts and resources (MCP issue, part 4): listed, read with the mcp SDK client, and given only to the scopes
that may use what they point at."""

from __future__ import annotations

import json
import re

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from query_mcp.auth.scopes import PROMPT_TOOLS, RESOURCE_SCOPES, TOOL_SCOPES
from query_mcp.guides import prompts
from tests.security.conftest import ADMIN, post, rpc

PROMPT_ARGS = {
    "investigate_host": {"host": "router1", "since": "-2h"},
    "explain_pattern": {"pattern": "login failed <NUM>"},
    "daily_network_report": {},
    "check_certificates": {"days": "14"},
    "failing_pollings": {},
}


def _client(s, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120))
    return Client(streamable_http_client(s.url, http_client=http))


def _listing(s, token: str):
    async def go():
        async with _client(s, token) as client:
            names = [p.name for p in (await client.list_prompts()).prompts]
            uris = [str(r.uri) for r in (await client.list_resources()).resources]
            templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
            return names, uris, templates

    return anyio.run(go)


def test_admin_lists_and_gets_every_prompt(svc):
    async def go():
        async with _client(svc, ADMIN) as client:
            listed = {p.name: p for p in (await client.list_prompts()).prompts}
            assert set(listed) == set(PROMPT_TOOLS)
            texts = {}
            for name, args in PROMPT_ARGS.items():
                got = await client.get_prompt(name, args)
                texts[name] = got.messages[0].content.text
            return listed, texts

    listed, texts = anyio.run(go)
    assert all(p.title and p.description for p in listed.values())
    assert "^router1$" in texts["investigate_host"] and "'-2h'" in texts["investigate_host"]
    assert "within 14 days" in texts["check_certificates"]


def test_each_prompt_names_exactly_the_tools_it_is_scoped_by():
    """The guard gives a prompt to whoever may call PROMPT_TOOLS[name]; the text must not ask for more."""
    for name, args in PROMPT_ARGS.items():
        text = getattr(prompts, name)(**args)
        named = {tool for tool in TOOL_SCOPES if re.search(rf"\b{tool}\b", text)}
        assert named == set(PROMPT_TOOLS[name]), name


def test_resources_read_with_the_sdk_client(svc):
    async def go():
        async with _client(svc, ADMIN) as client:
            tables = json.loads((await client.read_resource("netobs://tables")).contents[0].text)
            syslog = json.loads((await client.read_resource("netobs://tables/syslog")).contents[0].text)
            mib = json.loads((await client.read_resource("netobs://mib-tree")).contents[0].text)
            tools = json.loads((await client.read_resource("netobs://tools")).contents[0].text)
            return tables, syslog, mib, tools

    tables, syslog, mib, tools = anyio.run(go)
    assert {"syslog", "syslog_patterns", "command_audit"} <= {t["name"] for t in tables}
    columns = {c["name"]: c for c in syslog["columns"]}
    assert "compliance" in columns and columns["level"]["comment"].startswith("severity 0-2 high")
    assert any(node["name"] == "iso" or node.get("children") for node in mib)
    digest = {t["name"]: t for t in tools}
    assert set(digest) == set(TOOL_SCOPES)
    assert digest["search_syslog"]["read_only"] and digest["snmpset"]["destructive"]


def test_a_read_logs_token_sees_only_what_it_may_use(svc):
    reader = svc.tokens["reader"]
    names, uris, templates = _listing(svc, reader)
    assert set(names) == {"explain_pattern"}
    assert uris == ["netobs://tools"] and templates == []

    async def go():
        async with _client(svc, reader) as client:
            tools = json.loads((await client.read_resource("netobs://tools")).contents[0].text)
            refusals = []
            for call in (
                lambda: client.read_resource("netobs://tables"),
                lambda: client.read_resource("netobs://tables/mcp_audit"),
                lambda: client.read_resource("netobs://mib-tree"),
                lambda: client.get_prompt("investigate_host", {"host": "router1"}),
            ):
                with pytest.raises(MCPError) as caught:
                    await call()
                refusals.append(str(caught.value))
            return tools, refusals

    tools, refusals = anyio.run(go)
    assert {t["scope"] for t in tools} == {"read:logs"}
    assert all("permission denied" in r for r in refusals), refusals


def test_unknown_resources_and_prompts_are_refused_for_everyone(svc):
    for body in (
        rpc("resources/read", {"uri": "file:///etc/passwd"}),
        rpc("resources/read", {"uri": "netobs://tablesX"}),
        rpc("prompts/get", {"name": "no_such_prompt"}),
    ):
        answer = post(svc, body).text
        assert "permission denied" in answer, answer


def test_bad_prompt_arguments_say_what_is_accepted(svc):
    async def go():
        async with _client(svc, ADMIN) as client:
            out = []
            for name, args in (
                ("investigate_host", {"host": "a b; DROP"}),
                ("investigate_host", {"host": "r1", "since": "yesterday-ish"}),
                ("check_certificates", {"days": "0"}),
            ):
                with pytest.raises(MCPError) as caught:
                    await client.get_prompt(name, args)
                out.append(str(caught.value))
            return out

    host, since, days = anyio.run(go)
    assert "host:" in host and "since:" in since and "days:" in days


def test_resource_scopes_cover_every_registered_resource(svc):
    names, uris, templates = _listing(svc, ADMIN)
    families = set(RESOURCE_SCOPES)
    assert set(uris) <= families and all(t.split("/{")[0] in families for t in templates)
    assert set(names) == set(PROMPT_TOOLS)
