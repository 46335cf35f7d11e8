"""Fixtures of the integration tests.

chdb opens one engine path per process for the life of the process, so every test that uses embedded
ClickHouse in this process shares one path (tests keep apart by database name or by unique markers);
tests whose worker runs in a child process give it a path of its own and read it from a child too.
"""

from __future__ import annotations
