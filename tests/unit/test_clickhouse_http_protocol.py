"""The ClickHouse HTTP endpoint's request side (query_mcp.clickhouse_http.protocol) and sign-in, pure."""

from __future__ import annotations

import base64

import pytest

from query_mcp.auth.scopes import Principal
from query_mcp.clickhouse_http import auth, protocol
from query_mcp.clickhouse_http.errors import ClickHouseHttpError, from_engine


def parse(params: dict[str, str], body: str = "", headers: dict[str, str] | None = None) -> protocol.HttpQuery:
    return protocol.parse(params, headers or {}, body, "netobs", "generated-id")


def test_url_query_and_body_join_with_a_newline_and_the_format_clause_wins() -> None:
    q = parse({"query": "SELECT 1 +", "default_format": "CSV"}, "2 FORMAT jsoneachrow;")
    assert (q.sql, q.format, q.query_id) == ("SELECT 1 +\n2 ", "JSONEachRow", "generated-id")
    assert parse({"default_format": "CSV"}, "SELECT 1").format == "CSV"
    assert parse({}, "SELECT 1", {"x-clickhouse-format": "Parquet"}).format == "Parquet"
    assert parse({"query_id": "mine"}, "SELECT 1").format == "TabSeparated"


def test_a_format_named_inside_a_string_is_not_a_clause() -> None:
    assert parse({}, "SELECT 'x FORMAT JSON'").sql == "SELECT 'x FORMAT JSON'"


@pytest.mark.parametrize(
    ("placeholder", "value", "expected"),
    [
        ("{p:String}", "it\\'s\\ta", "'it\\'s\ta'"),
        ("{p:UInt8}", "7", "CAST('7' AS UInt8)"),
        ("{p:Array(String)}", "['x','it\\'s']", "CAST('[\\'x\\',\\'it\\\\\\'s\\']' AS Array(String))"),
        ("{p:Nullable(String)}", "\\N", "CAST(NULL AS Nullable(String))"),
        ("{p:Identifier}", "db.syslog", "`db`.`syslog`"),
        ("{p:Identifier}", "a`b", "`a``b`"),
        ("{p:DateTime('UTC')}", "2026-01-02 03:04:05", "CAST('2026-01-02 03:04:05' AS DateTime('UTC'))"),
    ],
)
def test_parameters_become_literals_of_their_type(placeholder: str, value: str, expected: str) -> None:
    assert parse({"param_p": value}, f"SELECT {placeholder}").sql == f"SELECT {expected}"


def test_a_value_cannot_leave_its_literal() -> None:
    sql = parse({"param_p": "x'; DROP TABLE syslog; --"}, "SELECT {p:String}").sql
    assert sql == "SELECT 'x\\'; DROP TABLE syslog; --'"


def test_missing_parameter_unknown_format_other_database_and_compression_are_refused() -> None:
    cases = [
        ({}, "SELECT {p:String}", 456),
        ({}, "SELECT 1 FORMAT XML", 73),
        ({"database": "system"}, "SELECT 1", 497),
        ({"compress": "1"}, "SELECT 1", 497),
        ({"query_id": "a\r\nSet-Cookie: x"}, "SELECT 1", 36),
    ]
    for params, body, code in cases:
        with pytest.raises(ClickHouseHttpError) as caught:
            parse(params, body)
        assert caught.value.code == code


def test_compressed_and_multipart_bodies_are_refused_not_misread() -> None:
    for headers in ({"content-encoding": "gzip"}, {"content-type": "multipart/form-data; boundary=x"}):
        with pytest.raises(ClickHouseHttpError) as caught:
            parse({}, "SELECT 1", headers)
        assert caught.value.code == 62


def test_settings_may_stay_as_they_are_but_not_change() -> None:
    current = {"readonly": "1", "max_result_rows": "10000"}
    protocol.check_settings({"readonly": "1", "send_progress_in_http_headers": "1"}, current)
    for settings, code in (({"readonly": "0"}, 164), ({"max_result_rows": "0"}, 164), ({"nonsense": "1"}, 115)):
        with pytest.raises(ClickHouseHttpError) as caught:
            protocol.check_settings(settings, current)
        assert caught.value.code == code
    assert parse({"max_result_rows": "0", "param_x": "1", "session_id": "s"}, "SELECT 1").settings == {
        "max_result_rows": "0"
    }


def test_credentials_come_from_headers_basic_auth_or_the_url() -> None:
    basic = "Basic " + base64.b64encode(b"analyst:nbo_secret").decode()
    assert protocol.credentials({"authorization": basic}, {}) == ("analyst", "nbo_secret")
    assert protocol.credentials({"x-clickhouse-user": "a", "x-clickhouse-key": "k"}, {}) == ("a", "k")
    assert protocol.credentials({}, {"user": "a", "password": "k"}) == ("a", "k")
    assert protocol.credentials({"authorization": "Bearer tok"}, {}) == ("", "tok")
    assert protocol.credentials({}, {}) == ("default", "")


def test_sign_in_needs_the_tokens_own_name_and_read_sql() -> None:
    book = {
        "k1": Principal("analyst", frozenset({"read:sql"}), "token"),
        "k2": Principal("reader", frozenset(), "token"),
    }

    def authenticate(key: str) -> tuple[Principal | None, str]:
        return book.get(key), ""

    assert auth.sign_in(authenticate, "analyst", "k1").name == "analyst"
    assert auth.sign_in(authenticate, "", "k1").name == "analyst"  # a bearer token stands for itself
    for user, key, code in (
        ("reader", "k1", 516),
        ("analyst", "bad", 516),
        ("default", "", 516),
        ("reader", "k2", 497),
    ):
        with pytest.raises(ClickHouseHttpError) as caught:
            auth.sign_in(authenticate, user, key)
        assert caught.value.code == code


def test_engine_errors_keep_their_code_and_name() -> None:
    err = from_engine("Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE) (version 1)")
    assert (err.code, err.name, err.status) == (60, "UNKNOWN_TABLE", 404)
    assert err.text("26.9").startswith("Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_")
