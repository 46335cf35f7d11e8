import pytest

from query_mcp.tools.bounds import MAX_FILTER_CHARS, ArgumentError, check_filter, clamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 100), (0, 100), (1, 100), (99, 100), (100, 100), (500, 500), (10000, 10000), (10001, 10000), (-5, 100)],
)
def test_limit_clamped_like_twsnmp(value, expected):
    assert clamp(value, 100, 10000, 100) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, 5), (0, 5), (3, 5), (50, 50), (501, 500)])
def test_top_n_clamped(value, expected):
    assert clamp(value, 5, 500, 5) == expected


def test_filters_checked_for_size_and_nul():
    assert check_filter("host_filter", None) == ""
    assert check_filter("host_filter", "^r[0-9]+$") == "^r[0-9]+$"
    with pytest.raises(ArgumentError, match="host_filter"):
        check_filter("host_filter", "a" * (MAX_FILTER_CHARS + 1))
    with pytest.raises(ArgumentError, match="NUL"):
        check_filter("tag_filter", "a\x00b")
