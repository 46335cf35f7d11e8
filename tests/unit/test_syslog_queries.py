"""The message filter's index pieces: only a pattern without regex operators gives any, and each piece is a
substring of every text the pattern matches, so the LIKE conditions built from them never change the lines."""

from __future__ import annotations

import re

import pytest

from query_mcp.sql import syslog_queries as q


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("kx7intruder", "kx7intruder"),
        (r"10\.9\.1\.7", "10.9.1.7"),
        (r"a\-b\ c\%d", "a-b c%d"),
        ("Gi0/1, changed", "Gi0/1, changed"),
        ("é日本", "é日本"),
        ("", ""),
        ("kx7.intruder", None),
        ("(?i)kx7intruder", None),
        ("root|admin", None),
        (r"id\d+", None),
        (r"\Qa.b\E", None),
        ("abc\\", None),
        ("^link", None),
        ("port 4$", None),
        ("[.]2", None),
        ("a{2}", None),
    ],
)
def test_literal_is_the_text_only_when_the_pattern_has_no_operator(pattern: str, text: str | None) -> None:
    assert q.literal(pattern) == text


@pytest.mark.parametrize(
    ("pattern", "pieces"),
    [
        ("kx7intruder", ["kx7intruder"]),
        ("kx7i", ["kx7i"]),
        ("kx7", []),
        ("user kx7intruder", ["kx7intruder", "user"]),
        ("Failed password for", ["password", "Failed"]),
        ("x7_intr%uder", ["intr", "uder"]),
        ("日本", ["日本"]),
        ("é", []),
        ("aé日本 b", ["aé日本"]),
        (r"10\.9\.1\.7", []),
        ("alpha bravo charlie delta echo", ["charlie", "alpha", "bravo"]),
        ("(?i)kx7intruder", []),
        (r"kx7intruder\b", []),
        ("", []),
    ],
)
def test_index_fragments(pattern: str, pieces: list[str]) -> None:
    assert q.index_fragments(pattern) == pieces


@pytest.mark.parametrize("pattern", ["kx7intruder", "user kx7intruder", "a-b c%d_e", "é日本kx7 x", "10.9.1.7"])
def test_every_piece_is_in_every_text_the_pattern_matches(pattern: str) -> None:
    escaped = re.escape(pattern)
    texts = [f"x{pattern}y", pattern, f"{pattern} {pattern}", f"pre: {pattern}."]
    for piece in q.index_fragments(escaped):
        for text in texts:
            assert re.search(escaped, text) and piece in text


def test_the_pieces_travel_as_parameters_beside_the_regex() -> None:
    f = q.SyslogFilter(start=q.datetime(2026, 1, 1), end=q.datetime(2026, 1, 2), message_filter="user kx7intruder")
    clauses, params = q.where(f)
    assert "match(s.message, {message_filter:String})" in clauses
    assert "s.message LIKE {message_piece_0:String}" in clauses
    assert params["message_piece_0"] == "%kx7intruder%" and params["message_piece_1"] == "%user%"
    assert params["message_filter"] == "user kx7intruder"
