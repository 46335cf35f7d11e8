"""common.timefmt: one RFC 3339 writer for the MCP tools, the executor and the audit check."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from common.timefmt import rfc3339, rfc3339_ns

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_stored_datetimes_say_utc_with_z():
    assert rfc3339(dt.datetime(2025, 10, 27, 1, 2, 3, 456000)) == "2025-10-27T01:02:03.456000Z"
    assert rfc3339(dt.datetime(2025, 10, 27, 1, 2, 3, tzinfo=dt.UTC)) == "2025-10-27T01:02:03Z"


@given(st.integers(min_value=-(10**18), max_value=4 * 10**18))
def test_microseconds_are_the_nanoseconds_truncated(ns: int):
    text = rfc3339_ns(ns, 6)
    moment = dt.datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=dt.UTC)
    assert (moment - EPOCH) // dt.timedelta(microseconds=1) * 1000 == ns - ns % 1000
    assert rfc3339_ns(ns).startswith(text.removesuffix("Z"))
