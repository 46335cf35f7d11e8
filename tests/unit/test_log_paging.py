"""The pure parts of the log tools' pages and counts: signed cursors, keyset clauses, time buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from query_mcp.sql.filters import keyset
from query_mcp.tools.logs.buckets import auto_bucket, bucket_starts, series
from query_mcp.tools.logs.cursor import CursorError, Cursors, query_digest

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_a_cursor_comes_back_as_the_position_it_was_issued_for():
    cursors = Cursors()
    digest = query_digest("search_syslog", {"host_filter": "r1", "limit": 5, "cursor": ""})
    last = (START + timedelta(microseconds=123457), 1, 99, 2)
    position = cursors.open(cursors.issue(digest, START, END, last), digest)
    assert (position.start, position.end, position.after) == (START, END, last)
    assert digest == query_digest("search_syslog", {"host_filter": "r1", "limit": 50, "fields": ["Time"]})


def test_a_cursor_for_another_query_altered_or_from_another_service_is_refused():
    cursors = Cursors()
    digest = query_digest("search_syslog", {"host_filter": "r1"})
    cursor = cursors.issue(digest, START, END, (START, 0, 0, 0))
    other = query_digest("search_syslog", {"host_filter": "r2"})
    with pytest.raises(CursorError, match="another query"):
        cursors.open(cursor, other)
    body, mac = cursor.split(".")
    for bad in (body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac, cursor[:-4], "junk", ""):
        with pytest.raises(CursorError, match="not a cursor this service issued"):
            cursors.open(bad, digest)
    with pytest.raises(CursorError, match="not a cursor this service issued"):
        Cursors().open(cursor, digest)  # another key: another service, or a restart


def test_keyset_is_strictly_after_in_either_order():
    key = (("s.t", "DateTime64(6, 'UTC')"), ("s.o", "UInt64"))
    clauses, params = keyset(key, (START, 7), descending=False)
    assert clauses == [
        "s.t >= {after0:DateTime64(6, 'UTC')}",
        "(s.t, s.o) > ({after0:DateTime64(6, 'UTC')}, {after1:UInt64})",
    ]
    assert params == {"after0": START, "after1": 7}
    assert keyset(key, (START, 7), descending=True)[0][1].startswith("(s.t, s.o) < ")
    with pytest.raises(ValueError):
        keyset(key, (START,), descending=False)


def test_buckets_cover_the_window_with_zeros_where_nothing_was_counted():
    assert auto_bucket(START, END) == 300
    assert auto_bucket(START, START + timedelta(days=1)) == 3 * 3600
    starts = bucket_starts(START + timedelta(minutes=7), END, 900)
    assert starts[0] == START and starts[-1] == END and len(starts) == 5
    naive = (START + timedelta(minutes=30)).replace(tzinfo=None)  # as the driver returns it
    assert series(starts, [(naive, 4), (START, 1), (START - timedelta(hours=1), 9)]) == [1, 0, 4, 0, 0]
