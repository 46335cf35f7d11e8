from datetime import UTC, datetime, timedelta

import pytest

from query_mcp.tools.timeexpr import TimeExprError, parse_time, time_range

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("-1h", NOW - timedelta(hours=1)),
        ("-30m", NOW - timedelta(minutes=30)),
        ("-2d", NOW - timedelta(days=2)),
        ("-1h30m", NOW - timedelta(minutes=90)),
        ("-90s", NOW - timedelta(seconds=90)),
        ("1w", NOW - timedelta(weeks=1)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("2025-10-27 00:00:00", datetime(2025, 10, 27, tzinfo=UTC)),
        ("2025-10-27T09:00:00+09:00", datetime(2025, 10, 27, tzinfo=UTC)),
        ("2025-10-27T00:00:00Z", datetime(2025, 10, 27, tzinfo=UTC)),
        ("2025/10/27 00:00:00", datetime(2025, 10, 27, tzinfo=UTC)),
        ("2025-10-27", datetime(2025, 10, 27, tzinfo=UTC)),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, NOW, "now") == expected


def test_defaults_are_last_hour():
    assert time_range("", "", NOW) == (NOW - timedelta(hours=1), NOW)
    assert time_range(None, None, NOW) == (NOW - timedelta(hours=1), NOW)


@pytest.mark.parametrize(
    "text", ["yesterday", "-1y", "1h; DROP TABLE syslog", "' OR 1=1 --", "-", "x" * 100, "-99999999h"]
)
def test_bad_times_name_what_is_accepted(text):
    with pytest.raises(TimeExprError) as info:
        parse_time(text, NOW, "now")
    assert "accepted" in str(info.value) or "ten years" in str(info.value)


def test_start_after_end_is_refused():
    with pytest.raises(TimeExprError, match="after"):
        time_range("now", "-1h", NOW)
