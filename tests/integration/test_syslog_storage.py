"""Syslog storage against the real embedded ClickHouse: the raw column gives back every line byte for byte
without the line being stored twice, migration 0008 carries a table of the previous schema over with its
data, and search_syslog's SQL finds the same lines whether the message n-gram index is used or not."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common import clickhouse, migrations
from processors import clickhouse_writer
from processors.syslog.miner import Miner
from processors.syslog.rows import record_columns
from query_mcp.sql import syslog_queries as q
from schemas import raw_syslog
from schemas.tables import SYSLOG

pytestmark = pytest.mark.integration

NOW_NS = time.time_ns()


def _window(message_filter: str = "") -> q.SyslogFilter:
    """Three hours around NOW_NS, the receive time of every stored line, searched for message_filter."""
    start = datetime.fromtimestamp(NOW_NS / 1e9, UTC) - timedelta(hours=1)
    return q.SyslogFilter(start=start, end=start + timedelta(hours=3), message_filter=message_filter)


def _index_plan(client: Any, sql: str, params: dict[str, object]) -> list[str]:
    """The lines of EXPLAIN indexes = 1 for a query: which skip indexes it uses and how many granules each leaves."""
    return [row[0] for row in client.query("EXPLAIN indexes = 1 " + sql, parameters=params).result_rows]


EDGE_LINES = [
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    b"<13>Nov  2 01:02:03 host host tag[12]: host appears twice, Nov  2 01:02:03 too",
    b"<189>123: *Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up\n",
    b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    b'[exampleSDID@32473 iut="3"] \xef\xbb\xbfBOM',
    b"<14>1 2025-01-02T03:04:05+09:00 h app 1 - - trailing spaces   \r\n\x00",
    b'<190>date=2025-01-02 time=03:04:05 devname="FGT" type="traffic" srcip=10.0.0.1',
    b"<13>Jan  5 00:00:00 h prog: bytes \xff\xfe that are not UTF-8",
    b"<13>Jan  5 00:00:00 h prog: a mark \x01 and \x02 inside",
    b"\x01<13>Jan  5 00:00:00 h prog: a mark before the header",
    b"",
    b"   ",
    b"no pri, no header, just text",
    b"  <13>leading spaces",
    b"<999>bad pri",
    b"<13>Feb 29 12:00:00 h prog: a day that may not exist this year",
    b"<13>Jan  5 00:00:00 10.1.2.3 prog: the host is an address",
    b"<13>Jan  5 00:00:00 h prog:",
    b"<13>Jan  5 00:00:00 h prog: message \xe3\x81\x82 in UTF-8",
]


def _random_line(rng: random.Random) -> bytes:
    """Mostly syslog-shaped lines with random pieces: the row builder's cases and everything between."""
    pieces = [
        f"<{rng.randint(0, 191)}>",
        rng.choice(["", "1 ", "12: ", "*"]),
        rng.choice(["Jan  5 00:00:0" + str(rng.randint(0, 9)), "Dec 31 23:59:59", "2025-06-01T10:00:00Z", ""]),
        rng.choice([" ", "  ", ""]),
        rng.choice(["h1", "core-sw1", "10.0.0.9", "", "h1 h1"]),
        rng.choice([" app[42]: ", " %SYS-5-CONFIG_I: ", " app: ", " ", " - - - "]),
        "".join(rng.choice('ab x="[]\\:%\x01\x02\ufeff\u00e9') for _ in range(rng.randint(0, 20))),
        rng.choice(["", "\n", " ", "\r\n", "\x00"]),
    ]
    line = "".join(rng.sample(pieces, len(pieces)) if rng.random() < 0.2 else pieces).encode()
    return line + (bytes([rng.randint(128, 255)]) if rng.random() < 0.05 else b"")


def _store(client: Any, db: str, lines: list[bytes], per_record: int = 500) -> None:
    miner = Miner()
    for offset, first in enumerate(range(0, len(lines), per_record)):
        chunk = lines[first : first + per_record]
        received = [NOW_NS + (first + i) * 1000 for i in range(len(chunk))]
        batch = raw_syslog.RawBatch(1, "udp", received, ["192.0.2.7"] * len(chunk), chunk, [0] * len(chunk))
        clickhouse_writer.insert_columns(
            client, db, SYSLOG, record_columns(raw_syslog.encode(batch), 0, offset, received[-1], miner)
        )


@pytest.fixture(scope="module")
def client(chdb_path):
    return clickhouse.connect(f"chdb://{chdb_path}")


def test_raw_gives_back_every_line_exactly(client) -> None:
    db = "storage_raw_test"
    migrations.apply(client, db, 30)
    rng = random.Random(13)
    lines = EDGE_LINES + [_random_line(rng) for _ in range(3000)]
    _store(client, db, lines)
    undecodable = b"\x93not msgpack \x01"
    clickhouse_writer.insert_columns(client, db, SYSLOG, record_columns(undecodable, 1, 0, NOW_NS, Miner()))
    rows = client.query(
        f"SELECT raw, raw_whole FROM {db}.{SYSLOG} ORDER BY kafka_partition, kafka_offset, line_no",
        column_formats={"raw": "bytes"},
    ).result_rows
    assert [raw for raw, _ in rows] == [*lines, undecodable]
    whole = [w for _, w in rows]
    assert not any(whole[:6]) and all(whole[6:9])  # only lines that cannot be split are stored whole
    assert whole[-1]


def _legacy_rows(n: int) -> tuple[list[str], list[list[Any]]]:
    """Rows of the schema before 0008, with a raw column: ordinary lines, lines whose message is not their
    tail, and lines holding the mark bytes."""
    names = ["received_at", "event_time", "host", "message", "raw", "template_id", "kafka_offset", "line_no"]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    rows = []
    for i in range(n):
        message = f"user u{i} logged in from 10.0.{i % 256}.1"
        raw = [
            f"<13>Jan  5 00:00:00 h{i % 7} app[{i}]: {message}".encode(),
            f"<13>Jan  5 00:00:00 h app: {message[:-1]}\ufffd".encode(),
            b"<13>Jan  5 00:00:00 h app: \x01 " + message.encode(),
            message.encode() + b"\n",
        ][i % 4]
        rows.append([at + timedelta(seconds=i), at, f"h{i % 7}", message, raw, i % 5, i // 100, i % 100])
    return names, rows


def test_migration_0008_carries_a_table_of_the_previous_schema_over(client) -> None:
    db = "storage_migration_test"
    client.command(f"DROP DATABASE IF EXISTS {db}")
    client.command(f"CREATE DATABASE {db}")
    for version, _name, sql in migrations.migration_files():
        if version < 8:
            for statement in migrations.statements(sql.format(db=db, retention_days=30)):
                client.command(statement)
    names, rows = _legacy_rows(2000)
    client.insert(f"{db}.{SYSLOG}", rows, column_names=names)
    columns = ", ".join(names)
    before = client.query(f"SELECT {columns} FROM {db}.{SYSLOG} ORDER BY kafka_offset, line_no").result_rows
    client.command(  # what migrations.apply recorded for the files already applied
        f"CREATE TABLE {db}.schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC') "
        "DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
    )
    old = [[v, n] for v, n, _ in migrations.migration_files() if v < 8]
    client.insert(f"{db}.schema_migrations", old, column_names=["version", "name"])

    applied = migrations.apply(client, db, 30)

    assert any(name.startswith("0008_") for name in applied)
    after = client.query(f"SELECT {columns} FROM {db}.{SYSLOG} ORDER BY kafka_offset, line_no").result_rows
    assert after == before
    physical = {
        name
        for (name,) in client.query(
            f"SELECT name FROM system.columns WHERE database = '{db}' AND table = '{SYSLOG}' AND default_kind = ''"
        ).result_rows
    }
    assert "raw" not in physical and {"raw_head", "raw_tail", "raw_whole"} <= physical
    assert client.query(f"EXISTS TABLE {db}.syslog_next").result_rows[0][0] == 0


def _messages(rng: random.Random, n: int) -> list[bytes]:
    """Lines of a few templates with random fields (few templates keep the miner quick)."""
    templates = [
        "Failed password for {user} from {ip} port {port}",
        "Accepted password for {user} from {ip} port {port}",
        "Interface Gi0/{port}, changed state to {state}",
        "session {id} opened for user {user}",
        "link {state} on Gi0/{port} peer {ip}",
    ]
    users = ["admin", "root", "alice", "bob", "netops", "svc1"]
    lines = []
    for i in range(n):
        body = rng.choice(templates).format(
            user=rng.choice(users),
            ip=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            port=rng.randint(1, 48),
            state=rng.choice(["up", "down"]),
            id=f"id{rng.randint(0, 99999)}",
        )
        lines.append(f"<13>Jan  5 00:00:{i % 60:02d} h{i % 9} app{i % 3}[{i % 50}]: {body}".encode())
    return lines


def test_search_finds_the_same_lines_with_and_without_the_message_index(client) -> None:
    """Random literals (rare and common, present and absent) and regular expressions: search_syslog's own SQL
    returns the same rows when ClickHouse may skip granules by the n-gram index as when it reads them all, and
    the lines RE2 matches when it is run over every message of the window."""
    db = "storage_search_test"
    migrations.apply(client, db, 30)
    rng = random.Random(5)
    lines = _messages(rng, 60_000)
    _store(client, db, lines, per_record=5000)
    client.command(f"OPTIMIZE TABLE {db}.{SYSLOG} FINAL")
    filters = [f"id{rng.randint(0, 99999)}" for _ in range(10)]
    filters += [f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}" for _ in range(5)]
    for line in rng.sample(lines, 10):  # pieces of stored messages, present at least once
        body = line.decode().split(": ", 1)[1]
        at = rng.randint(0, len(body) - 3)
        filters.append(re.escape(body[at : at + rng.randint(3, 16)]))
    filters += ["zz-never", "password for", "id1234[0-9]", "(admin|root) from 10\\.1", "^link", "port 4$", "Gi0/1,"]
    filters += [r"id(4|7)2\d{3}\b", "[.]2(5[0-5]|4[0-9])\\.", "(?i)ACCEPTED PASSWORD FOR ROOT", "a|zz9", ""]
    used_index = False
    for message_filter in filters:
        window = _window(message_filter)
        sql, params = q.search_sql(db, window, 10_000, False)
        with_index = client.query(sql, parameters=params).result_rows
        without = client.query(sql, parameters=params, settings={"use_skip_indexes": 0}).result_rows
        assert sorted(map(repr, with_index)) == sorted(map(repr, without)), message_filter
        reference = client.query(  # RE2 over every message of the window: what the filter means
            f"SELECT received_at, message FROM {db}.{SYSLOG} WHERE received_at BETWEEN {{s:DateTime64(6, 'UTC')}} "
            "AND {e:DateTime64(6, 'UTC')} AND match(message, {f:String}) ORDER BY received_at LIMIT 10000",
            parameters={"s": window.start, "e": window.end, "f": message_filter},
            settings={"use_skip_indexes": 0},
        ).result_rows
        assert [(r[0], r[5]) for r in with_index] == reference, message_filter
        used_index |= any("idx_message" in line for line in _index_plan(client, sql, params))
    assert used_index  # the comparison above was about something


TRICKY_MESSAGES = [
    "Failed password for invalid user kx7intruder from 10.9.1.7 port 22 ssh2",
    "Failed password for invalid user akx7intruderz from 10.9.1.8 port 22 ssh2",
    "user KX7INTRUDER denied",
    "kx7intruder.y and kx7intruder_z",
    "é日本kx7intruder 日本語 naïve",
    "user_kx7intruder%x a-b c%d_e",
    "kx7 intruder split by a space",
    "x7intrud alone",
    "tab\tkx7intruder\there",
    "10.9.1.7:22 closed",
    "",
]
TRICKY_FILTERS = [
    "kx7intruder",
    "kx7intr",
    "x7intrud",
    "truder",
    "KX7intruder",
    "KX7INTRUDER",
    "(?i)kx7intruder",
    r"kx7intruder\.y",
    "kx7intruder y",
    "kx7intruder_z",
    "user kx7intruder",
    "user_kx7",
    "_kx7intruder%",
    r"a\-b c\%d_e",
    "日本kx7",
    "日本語",
    "é日本",
    "naïve",
    "kx7 intruder",
    "tab\tkx7intruder",
    r"10\.9\.1\.7",
    "10.9.1.7",
    r"kx7intruder\b",
    "^kx7intruder",
    "kx7intruder$",
    "kx7_ntruder",
    "zzzz-never-there",
    "",
]


def _found_as_by_match(client: Any, db: str, filters: list[str]) -> dict[str, set[str]]:
    """The messages each filter finds, checked equal, row for row, to what match() finds over every message
    of the window, with the skip indexes used and not; and the count tool agreeing."""
    found = {}
    for message_filter in filters:
        window = _window(message_filter)
        sql, params = q.search_sql(db, window, 50_000, False)
        with_index = client.query(sql, parameters=params).result_rows
        without = client.query(sql, parameters=params, settings={"use_skip_indexes": 0}).result_rows
        reference = client.query(
            f"SELECT received_at, message FROM {db}.{SYSLOG} WHERE received_at BETWEEN {{s:DateTime64(6, 'UTC')}} "
            "AND {e:DateTime64(6, 'UTC')} AND match(message, {f:String}) ORDER BY received_at",
            parameters={"s": window.start, "e": window.end, "f": message_filter},
            settings={"use_skip_indexes": 0},
        ).result_rows
        assert [(r[0], r[5]) for r in with_index] == reference, message_filter
        assert with_index == without, message_filter
        count_sql, count_params = q.count_sql(db, window)
        assert client.query(count_sql, parameters=count_params).result_rows[0][0] == len(reference), message_filter
        found[message_filter] = {r[5] for r in with_index}
    return found


def test_tricky_filters_match_the_same_lines_as_match_alone(client) -> None:
    """Partial tokens, punctuation, case, UTF-8, LIKE's wildcards, empty: the search finds exactly the lines
    match() finds over every message, with the indexes used or not (migration 0010's coarse and fine n-gram filters);
    and a rare literal reads only the granule that holds it."""
    db = "storage_tricky_test"
    migrations.apply(client, db, 30)
    rng = random.Random(7)
    lines = _messages(rng, 40_000)
    for i, message in enumerate(TRICKY_MESSAGES):
        lines[3_000 + i * 3_500] = f"<13>Jan  5 00:00:00 h1 app[1]: {message}".encode()
    _store(client, db, lines, per_record=5000)
    client.command(f"OPTIMIZE TABLE {db}.{SYSLOG} FINAL")
    found = _found_as_by_match(client, db, TRICKY_FILTERS)
    assert found["kx7intr"] == {m for m in TRICKY_MESSAGES if "kx7intr" in m}  # partial tokens, whole line set
    assert found["KX7intruder"] == set()
    assert found["(?i)kx7intruder"] == {m for m in TRICKY_MESSAGES if "kx7intruder" in m.lower()}
    assert found["kx7_ntruder"] == set()  # _ is no wildcard in a regex
    window = _window("akx7intruderz")
    sql, params = q.search_sql(db, window, 10_000, False)
    plan = _index_plan(client, sql, params)
    # the coarse filter (every 4 granules of 2048 rows) first, then the fine one on the 4 granules it left:
    # the one line's granule of the 20
    assert _skip_granules(plan) == [("idx_message", 4, 20), ("idx_message_fine", 1, 4)], plan


def test_tricky_filters_among_random_text_match_the_same_lines(client) -> None:
    """Lines with random fingerprints (as ssh logs its keys) give the coarse filter of 8192 rows so many 3-grams
    that it lets every word through, and the fine filter of each granule is what drops granules there: the
    tricky filters still find exactly what match() finds, inside fingerprints too."""
    db = "storage_random_text_test"
    migrations.apply(client, db, 30)
    rng = random.Random(17)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = []
    for i in range(16_384):
        key = "".join(rng.choice(alphabet) for _ in range(43))
        lines.append(
            f"<13>Jan  5 00:00:00 h{i % 5} sshd[7]: Accepted publickey for u{i % 7} ssh2: SHA256:{key}".encode()
        )
    for i, message in enumerate(TRICKY_MESSAGES):
        lines[500 + i * 1_400] = f"<13>Jan  5 00:00:00 h1 sshd[7]: {message}".encode()
    lines[9_000] = b"<13>Jan  5 00:00:00 h1 sshd[7]: Accepted publickey for u1 ssh2: SHA256:Zkx7intruderQ+/9"
    _store(client, db, lines, per_record=4096)
    client.command(f"OPTIMIZE TABLE {db}.{SYSLOG} FINAL")
    found = _found_as_by_match(client, db, [*TRICKY_FILTERS, "SHA256:Zkx7", r"intruderQ\+/9", "ssh2: SHA"])
    assert found["kx7intruder"] == {m for m in TRICKY_MESSAGES if "kx7intruder" in m} | {
        "Accepted publickey for u1 ssh2: SHA256:Zkx7intruderQ+/9"
    }
    assert len(found["ssh2: SHA"]) == 16_384 - len(TRICKY_MESSAGES)
    window = _window("qzjxw9vkk")
    sql, params = q.search_sql(db, window, 10_000, False)
    plan = _index_plan(client, sql, params)
    (_, coarse_left, _), (_, fine_left, fine_given) = _skip_granules(plan)
    assert coarse_left == fine_given == 8 and fine_left < fine_given, plan  # the coarse filter let all through


def _skip_granules(plan: list[str]) -> list[tuple[str, int, int]]:
    """(index, granules left, granules it was given) for each skip index of an EXPLAIN indexes = 1, in the order
    ClickHouse applied them."""
    found = []
    for at, line in enumerate(plan):
        if (name := re.search(r"Name: (idx_\w+)", line)) is not None:
            granules = next(m for later in plan[at:] if (m := re.search(r"Granules: (\d+)/(\d+)", later)))
            found.append((name.group(1), int(granules.group(1)), int(granules.group(2))))
    return found


def test_summary_example_is_the_newest_raw_line_of_each_pattern(client) -> None:
    """The summary rebuilds raw once per pattern from the parts of its newest line: the same line
    argMax(raw, received_at) gives, for lines stored whole, with folded host and time marks, and plain."""
    db = "storage_summary_test"
    migrations.apply(client, db, 30)
    rng = random.Random(11)
    _store(client, db, EDGE_LINES + [_random_line(rng) for _ in range(2000)] + EDGE_LINES)
    sql, params = q.summary_sql(db, _window(), 1000)
    rows = client.query(sql, parameters=params, column_formats={"example": "bytes"}).result_rows
    reference = dict(
        client.query(
            f"WITH {q.fold_with(db)} SELECT {q.FOLD} AS tid, argMax(s.raw, s.received_at) AS example "
            f"FROM {db}.{SYSLOG} AS s {q.FOLD_JOIN} GROUP BY tid",
            column_formats={"example": "bytes"},
        ).result_rows
    )
    assert len(rows) > 10
    assert {row[0]: row[5] for row in rows} == reference


def _schema_before(client: Any, db: str, version: int) -> None:
    """A new database at the schema of the migrations before `version`, recorded as migrations.apply does."""
    client.command(f"DROP DATABASE IF EXISTS {db}")
    client.command(f"CREATE DATABASE {db}")
    client.command(
        f"CREATE TABLE {db}.schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC') "
        "DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
    )
    for number, name, sql in migrations.migration_files():
        if number < version:
            for statement in migrations.statements(sql.format(db=db, retention_days=30)):
                client.command(statement)
            client.insert(f"{db}.schema_migrations", [[number, name]], column_names=["version", "name"])


ALL_COLUMNS = (
    "received_at, event_time, source, transport, host, facility, severity, level, type, tag, pid, msgid, "
    "structured_data, message, template_id, parse_error, ingest_flags, raw, kafka_partition, kafka_offset, line_no, "
    "compliance, parse_issues"
)


def test_a_store_of_schema_0008_is_upgraded_with_its_rows(client) -> None:
    """A store of schema 0008 with rows in it: migration 0009 indexes them again, then 0010 copies them into
    granules of 2048 rows with the coarse and the fine message filters; every column of every row is kept, and
    a rare literal reads only its line's granule."""
    db = "storage_upgrade_0009_test"
    _schema_before(client, db, 9)
    lines = _messages(random.Random(3), 20_000)
    lines[12_345] = b"<13>Jan  5 00:00:00 h1 app[1]: user kx7intruder failed"
    _store(client, db, lines, per_record=5000)
    client.command(f"OPTIMIZE TABLE {db}.{SYSLOG} FINAL")
    everything = f"SELECT {ALL_COLUMNS} FROM {db}.{SYSLOG} ORDER BY kafka_partition, kafka_offset, line_no"
    before = client.query(everything).result_rows

    applied = migrations.apply(client, db, 30)

    assert [name[:5] for name in applied] == ["0009_", "0010_"]
    assert client.query(everything).result_rows == before
    assert client.query(f"EXISTS TABLE {db}.syslog_next").result_rows[0][0] == 0
    client.command(f"OPTIMIZE TABLE {db}.{SYSLOG} FINAL")
    size = client.query(
        "SELECT name, type_full, data_uncompressed_bytes FROM system.data_skipping_indices "
        f"WHERE database = '{db}' AND table = '{SYSLOG}' AND name LIKE 'idx_message%' ORDER BY name"
    ).result_rows
    assert size == [  # 20,000 rows: 10 granules of up to 2048, a coarse filter per 4 of them, a fine one each
        ("idx_message", "ngrambf_v1(3, 2048, 2, 0)", 3 * 2048),
        ("idx_message_fine", "ngrambf_v1(3, 16384, 1, 0)", 10 * 16384),
    ]
    engine = client.query(f"SELECT engine_full FROM system.tables WHERE database = '{db}' AND name = '{SYSLOG}'")
    assert "index_granularity = 2048" in engine.result_rows[0][0]
    assert "min_compress_block_size = 8192" in engine.result_rows[0][0]
    window = _window("kx7intruder")
    sql, params = q.search_sql(db, window, 100, False)
    assert [row[5] for row in client.query(sql, parameters=params).result_rows] == ["user kx7intruder failed"]
    plan = _index_plan(client, sql, params)
    (coarse, coarse_left, coarse_given), (fine, fine_left, fine_given) = _skip_granules(plan)
    assert (coarse, coarse_given, fine, fine_left) == ("idx_message", 10, "idx_message_fine", 1), plan
    assert coarse_left == fine_given <= 4, plan
