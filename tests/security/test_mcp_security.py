"""Try to get in: every attempt is refused with the right status, lands in mcp_audit, and changes nothing."""

from __future__ import annotations

import json
import threading
import time

import httpx2
import pytest

from tests.security.conftest import ADMIN, DB, MARKER, audit_rows, call_tool, post, rpc, running

LIST = rpc("tools/list")


def _syslog_count(client) -> int:
    return client.query(f"SELECT count() FROM {DB}.syslog").result_rows[0][0]


@pytest.fixture(scope="module", autouse=True)
def data_unchanged(sec_db):
    """Whatever the attacks below try, the data and the tables stay as they were."""
    before = (_syslog_count(sec_db), sec_db.query(f"SHOW TABLES FROM {DB}").result_rows)
    yield
    assert (_syslog_count(sec_db), sec_db.query(f"SHOW TABLES FROM {DB}").result_rows) == before


def test_no_token(svc, sec_db):
    since = time.time_ns()
    r = post(svc, LIST, token=None)
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    assert "/.well-known/oauth-protected-resource/mcp" in challenge
    assert r.json()["error"] == "unauthorized"
    rows = audit_rows(sec_db, since, outcome="denied")
    assert rows and rows[0]["status"] == 401 and rows[0]["principal"] == "-"


@pytest.mark.parametrize(
    "presented",
    [
        "wrong-token-0123456789abcdef",
        ADMIN[:-1],
        ADMIN + "x",
        "x" + ADMIN,
        ADMIN[2:12],
        ADMIN.upper(),
        ADMIN + " " + ADMIN,
    ],
)
def test_wrong_substring_and_superstring_tokens(svc, sec_db, presented):
    since = time.time_ns()
    r = post(svc, LIST, token=presented)
    assert r.status_code == 401
    assert r.json()["error"] in ("invalid_token", "unauthorized")
    rows = audit_rows(sec_db, since, outcome="denied")
    assert rows and all(presented not in row["reason"] for row in rows)


def test_token_is_never_logged_or_audited(svc, sec_db, caplog):
    since = time.time_ns()
    secret = "nbo_" + "q" * 40
    with caplog.at_level("DEBUG"):
        post(svc, LIST, token=secret)
        post(svc, rpc("tools/call", {"name": "search_syslog", "arguments": {"message_filter": ADMIN}}))
    assert secret not in caplog.text and ADMIN not in caplog.text
    rows = audit_rows(sec_db, since)
    assert rows and not any(secret in str(row) or ADMIN in str(row) for row in rows)


def test_metadata_rfc9728(svc):
    r = httpx2.get(svc.base + "/.well-known/oauth-protected-resource/mcp")
    assert r.status_code == 200
    meta = r.json()
    assert meta["resource"] == svc.url
    assert "read:logs" in meta["scopes_supported"] and meta["bearer_methods_supported"] == ["header"]


def test_valid_jwt_gets_its_scopes_only(svc, sec_db):
    token = svc.jwt(scope="read:logs")
    r = post(svc, LIST, token=token)
    assert r.status_code == 200
    names = {t["name"] for t in r.json()["result"]["tools"]}
    assert names == {
        "search_syslog",
        "get_syslog_summary",
        "count_syslog",
        "find_syslog_spikes",
        "find_new_syslog_patterns",
        "search_snmp_trap_log",
        "count_snmp_traps",
        "search_event_log",
        "count_event_log",
    }
    since = time.time_ns()
    is_error, _ = call_tool(svc, "search_syslog", {}, token=token)
    assert not is_error
    assert audit_rows(sec_db, since, principal="jwt:agent-7", tool="search_syslog")[0]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -600}, "expired"),
        ({"nbf": 600}, "not yet valid"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.test"}, "issuer"),
    ],
)
def test_jwt_refusals(svc, sec_db, claims, reason):
    # exp and nbf are offsets from now, taken when the test runs (a long suite outlives collection-time claims).
    claims = {k: int(time.time()) + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    since = time.time_ns()
    r = post(svc, LIST, token=svc.jwt(**claims))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert reason in r.json()["detail"]
    assert reason in audit_rows(sec_db, since, outcome="denied")[0]["reason"]


def test_unsigned_jwt_alg_none(svc):
    import jwt

    unsigned = jwt.encode({"iss": "https://idp.test", "aud": "netobs-mcp", "sub": "x", "exp": 2**31}, None, "none")
    r = post(svc, LIST, token=unsigned)
    assert r.status_code == 401 and "none" in r.json()["detail"]


def test_disallowed_ip_and_spoofed_forwarded_for(chdb_path, sec_db, credentials_dir):
    since = time.time_ns()
    with running(chdb_path, credentials_dir, allow_from=("10.0.0.0/8",)) as s:
        assert post(s, LIST).status_code == 403
        spoofed = post(s, LIST, headers={"X-Forwarded-For": "10.1.2.3"})
        assert spoofed.status_code == 403, "X-Forwarded-For from an untrusted peer must be ignored"
    rows = audit_rows(sec_db, since, outcome="denied")
    assert len(rows) >= 2 and all(r["status"] == 403 and r["client"] == "127.0.0.1" for r in rows)
    with running(chdb_path, credentials_dir, allow_from=("10.0.0.0/8",), trusted_proxies=("127.0.0.1/32",)) as s:
        assert post(s, LIST, headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 200
        assert post(s, LIST, headers={"X-Forwarded-For": "192.0.2.9"}).status_code == 403
        assert post(s, LIST, headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.9"}).status_code == 403


def test_bad_origin_and_host(svc, sec_db):
    since = time.time_ns()
    assert post(svc, LIST, headers={"Origin": "https://evil.example"}).status_code == 403
    assert post(svc, LIST, headers={"Host": "evil.example:80"}).status_code == 421
    statuses = {r["status"] for r in audit_rows(sec_db, since, outcome="error")}
    assert {403, 421} <= statuses


def test_oversized_body(svc, sec_db):
    since = time.time_ns()
    big = rpc("tools/call", {"name": "search_syslog", "arguments": {"message_filter": "a" * (2 * 1024 * 1024)}})
    r = post(svc, big)
    assert r.status_code == 413
    assert audit_rows(sec_db, since, outcome="denied")[0]["status"] == 413


def test_read_scope_cannot_act(svc, sec_db):
    reader = svc.tokens["reader"]
    for tool in ("do_ping", "snmpwalk", "snmpset", "add_node", "update_node", "add_event_log", "run_select_query"):
        since = time.time_ns()
        r = post(svc, rpc("tools/call", {"name": tool, "arguments": {"target": "127.0.0.1"}}), token=reader)
        assert r.status_code == 403, tool
        assert r.json()["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        row = audit_rows(sec_db, since, tool=tool)[0]
        assert row["outcome"] == "denied" and row["principal"] == "reader" and row["status"] == 403


def test_tool_list_matches_what_may_be_called(svc):
    def listed(token: str) -> set[str]:
        return {t["name"] for t in post(svc, LIST, token=token).json()["result"]["tools"]}

    reader, inventory = listed(svc.tokens["reader"]), listed(svc.tokens["inventory"])
    admin = listed(ADMIN)
    assert "search_syslog" in reader and "search_syslog" not in inventory
    assert reader <= admin and inventory <= admin
    assert listed(svc.tokens["metrics"]) == set()
    for tool in post(svc, LIST).json()["result"]["tools"]:
        assert len(tool["_meta"]["netobs/sha256"]) == 64
    digests = httpx2.get(svc.base + "/tool-digests", headers={"Authorization": f"Bearer {svc.tokens['reader']}"}).json()
    assert set(digests) == reader


@pytest.mark.parametrize(
    "injection",
    [
        "' OR 1=1 --",
        "x'); DROP TABLE syslog; --",
        "\\'; SELECT * FROM system.users; --",
        "{x:String}",
        "' UNION SELECT name FROM system.tables --",
    ],
)
def test_sql_injection_through_filters_and_times(svc, injection):
    for field in ("level_filter", "host_filter", "tag_filter", "message_filter"):
        for tool in ("search_syslog", "get_syslog_summary"):
            is_error, text = call_tool(svc, tool, {field: injection, "start_time": "-1d"})
            assert is_error or json.loads(text)["items"] == [], (tool, field, text)
    for field in ("start_time", "end_time"):
        is_error, text = call_tool(svc, "search_syslog", {field: injection})
        assert is_error and field in text, text


def test_filters_match_as_regex_not_sql(svc):
    is_error, text = call_tool(svc, "search_syslog", {"message_filter": MARKER, "start_time": "-1d", "limit": 100})
    assert not is_error and text.count(MARKER) == 20


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+b", "(x+x+)+y", "^(a?){30}a{30}$"])
def test_catastrophic_backtracking_patterns_run_linear(svc, pattern):
    is_error, text = call_tool(svc, "search_syslog", {"message_filter": pattern, "start_time": "-1d"})
    assert not is_error and json.loads(text)["items"] == []


def test_regex_re2_cannot_compile_names_the_argument(svc):
    is_error, text = call_tool(svc, "search_syslog", {"host_filter": "(a)\\1"})
    assert is_error and "host_filter" in text


def test_limits_and_sizes_past_bounds(svc):
    is_error, text = call_tool(svc, "search_syslog", {"message_filter": "a" * 5000})
    assert is_error and "message_filter" in text and "1024" in text
    is_error, text = call_tool(svc, "search_syslog", {"limit": 10**12, "start_time": "-1d"})
    assert is_error and f"limit: {10**12} is outside 1-10000" in text
    is_error, text = call_tool(svc, "search_syslog", {"limit": "lots"})
    assert is_error and "limit" in text
    is_error, text = call_tool(svc, "search_syslog", {"start_time": "-99999999d"})
    assert is_error and "start_time" in text


def test_metrics_exposure(svc):
    assert httpx2.get(svc.base + "/metrics").status_code == 401
    r = httpx2.get(svc.base + "/metrics", headers={"Authorization": f"Bearer {svc.tokens['reader']}"})
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    r = httpx2.get(svc.base + "/metrics", headers={"Authorization": f"Bearer {svc.tokens['metrics']}"})
    assert r.status_code == 200 and "netobs_mcp_denials_total" in r.text


def test_rate_limits_answer_429_with_retry_after(chdb_path, sec_db, credentials_dir):
    since = time.time_ns()
    with running(chdb_path, credentials_dir, rate_per_client=1.0, rate_per_tool=1000.0) as s:
        statuses = [post(s, LIST).status_code for _ in range(6)]
        assert statuses[:2] == [200, 200] and 429 in statuses
        r = post(s, LIST)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    with running(chdb_path, credentials_dir, rate_per_tool=0.5) as s:
        results = [post(s, rpc("tools/call", {"name": "search_syslog", "arguments": {}})).status_code for _ in range(3)]
        assert results == [200, 429, 429], "burst of one call at 0.5 calls per second"
        assert post(s, rpc("tools/call", {"name": "get_syslog_summary", "arguments": {}})).status_code == 200
    assert any(r["status"] == 429 for r in audit_rows(sec_db, since, outcome="denied"))


def test_sse_session_cannot_be_used_by_another_credential(svc):
    with (
        httpx2.Client(timeout=10) as http,
        http.stream(
            "GET", svc.base + "/sse", headers={"Authorization": f"Bearer {ADMIN}", "Accept": "text/event-stream"}
        ) as stream,
    ):
        endpoint, lines = "", stream.iter_lines()  # kept: a dropped iterator would close the stream
        for line in lines:
            if line.startswith("data:"):
                endpoint = line.split(":", 1)[1].strip()
                break
        assert "session_id=" in endpoint
        r = post(svc, rpc("tools/list"), token=svc.tokens["reader"], path=endpoint)
        assert r.status_code == 403
        assert post(svc, rpc("tools/list"), token=ADMIN, path=endpoint).status_code == 202


@pytest.mark.parametrize(
    "query",
    [
        f"INSERT INTO {DB}.syslog (message) VALUES ('pwned')",
        f"ALTER TABLE {DB}.syslog DELETE WHERE 1",
        f"DROP TABLE {DB}.syslog",
        f"TRUNCATE TABLE {DB}.syslog",
        f"SELECT 1; DROP TABLE {DB}.syslog",
        f"SELECT 1 /* ; */; INSERT INTO {DB}.syslog (message) VALUES ('x')",
        "SELECT count() FROM syslog SETTINGS readonly = 0",
        "SET readonly = 0",
        "SELECT * FROM system.users",
        "SELECT name FROM `system`.`tables`",
        "SELECT * FROM INFORMATION_SCHEMA.TABLES",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT file('/etc/passwd')",
        "SELECT * FROM url('http://127.0.0.1:1/', 'CSV', 'a String')",
        "SELECT * FROM remote('127.0.0.1', system.one)",
        "SELECT * FROM executable('id', 'TSV', 'x String')",
        "SELECT 1 INTO OUTFILE '/tmp/netobs-pwned'",
    ],
)
def test_writes_and_escapes_through_run_select_query(svc, sec_db, query):
    since = time.time_ns()
    is_error, text = call_tool(svc, "run_select_query", {"query": query}, token=svc.tokens["analyst"])
    assert is_error, text
    row = audit_rows(sec_db, since, tool="run_select_query")[0]
    assert row["principal"] == "analyst" and row["outcome"] == "tool_error"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("((SELECT (SELECT throwIf(1, 'ran in the check'))) UNION ALL SELECT 1 FROM primes(3))", "primes() is not"),
        (
            "((SELECT (SELECT throwIf(1, 'ran in the check'))) UNION ALL "
            f"SELECT 1 FROM mergeTreeAnalyzeIndexes('{DB}', 'command_audit'))",
            "mergeTreeAnalyzeIndexes() is not allowed",
        ),
    ],
)
def test_parenthesised_union_cannot_run_code_in_the_check(svc, query, message):
    """Hardening issue: the scalar subquery ran while ClickHouse analysed the query for the second check."""
    is_error, text = call_tool(svc, "run_select_query", {"query": query}, token=svc.tokens["analyst"])
    assert is_error and message in text and "ran in the check" not in text, text


def test_one_token_cannot_starve_other_callers(svc):
    """Hardening issue: two slow queries of one token made another caller's SELECT 1 wait 27 s. With the
    analyst's two slow queries running or queued, the admin's SELECT 1 and the reader's search_syslog both answer
    before the first slow one does (order of completion, not a time limit)."""
    finished: list[str] = []
    lock = threading.Lock()

    def run(label: str, tool: str, args: dict[str, str], token: str) -> None:
        is_error, text = call_tool(svc, tool, args, token=token)
        assert not is_error, text
        with lock:
            finished.append(label)

    slow = {"query": "SELECT sum(sleepEachRow(0.25)) FROM numbers(4)"}  # 1 s, sleeping rather than spinning
    analyst = svc.tokens["analyst"]
    threads = [threading.Thread(target=run, args=(f"slow{i}", "run_select_query", slow, analyst)) for i in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the analyst's queries are running or queued
    threads += [
        threading.Thread(target=run, args=("admin", "run_select_query", {"query": "SELECT 1"}, ADMIN)),
        threading.Thread(target=run, args=("search", "search_syslog", {}, svc.tokens["reader"])),
    ]
    for thread in threads[2:]:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(finished) == 4, finished
    first_slow = next(i for i, label in enumerate(finished) if label.startswith("slow"))
    assert {"admin", "search"} <= set(finished[:first_slow]), finished


def test_analyst_reads_within_limits(svc):
    is_error, text = call_tool(
        svc, "run_select_query", {"query": "SELECT host, count() AS n FROM syslog GROUP BY host"}, svc.tokens["analyst"]
    )
    assert not is_error and '"router1"' in text
    r = post(
        svc, rpc("tools/call", {"name": "run_select_query", "arguments": {"query": "SELECT 1"}}), svc.tokens["reader"]
    )
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
