"""Fixtures of the integration tests.

chdb opens one engine path per process for the life of the process, so every test that uses embedded
ClickHouse in this process shares one path (tests keep apart by database name or by unique markers);
tests whose worker runs in a child process give it a path of its own and read it from a child too.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one embedded ClickHouse path this test process opens."""
    return tmp_path_factory.mktemp("chdb-session") / "clickhouse"
