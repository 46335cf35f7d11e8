import re

import msgspec
import pytest

from common import migrations
from schemas import raw_syslog
from schemas.tables import SYSLOG_COLUMNS, SYSLOG_RAW
from schemas.topics import partition_for


def test_raw_batch_round_trip_keeps_bytes():
    batch = raw_syslog.RawBatch(
        version=1,
        transport="udp",
        received_ns=[1, 2],
        sources=["10.0.0.1", "::1"],
        lines=[b"<13>hello", b"\xff\xfe binary \x00"],
        flags=[0, int(raw_syslog.LineFlag.OVERSIZED)],
    )
    assert raw_syslog.decode(raw_syslog.encode(batch)) == batch


def test_decode_refuses_ragged_columns_and_garbage():
    ragged = raw_syslog.RawBatch(version=1, transport="udp", received_ns=[1], sources=[], lines=[b"x"], flags=[0])
    with pytest.raises(msgspec.ValidationError):
        raw_syslog.decode(raw_syslog.encode(ragged))
    with pytest.raises(msgspec.DecodeError):
        raw_syslog.decode(b"\x93garbage")


def test_partition_is_stable_and_in_range():
    assert partition_for("10.0.0.1", 4) == partition_for("10.0.0.1", 4)
    assert {partition_for(f"10.0.0.{i}", 4) for i in range(50)} == {0, 1, 2, 3}


def test_migrations_are_numbered_and_cover_the_insert_columns():
    files = migrations.migration_files()
    assert [v for v, _, _ in files] == sorted({v for v, _, _ in files})
    ddl = "\n".join(sql for _, _, sql in files)
    for column in SYSLOG_COLUMNS:
        assert f"    {column} " in ddl or f"ADD COLUMN IF NOT EXISTS {column} " in ddl


def test_statement_split_drops_comments():
    assert migrations.statements("-- a; comment\nCREATE x;\n\nCREATE y;") == ["CREATE x", "CREATE y"]


def _call_at(sql: str, start: int) -> str:
    """The function call that begins at start, up to its closing parenthesis (none of ours quote one)."""
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0 and sql[end] == ")":
            return sql[start : end + 1]
    raise AssertionError(f"unbalanced: {sql[start:]!r}")


def test_the_raw_alias_readers_rebuild_is_the_one_the_newest_migration_defines():
    defined = [
        " ".join(_call_at(sql, found.end()).split())
        for _, _, sql in migrations.migration_files()
        for found in re.finditer(r"\braw\s+String\s+ALIAS\s+", sql)
    ]
    assert defined, "a migration defines syslog.raw as an ALIAS"
    assert defined[-1] == SYSLOG_RAW
