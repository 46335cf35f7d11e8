"""A worker whose Faust fetcher crashed used to stay up, fetching nothing and saying nothing after the crash's
traceback (seen in bench/faults.py: a node stored nothing more for six minutes). mode marks a crashed service
and carries on; the worker thread now stops with the reason, so `netobs worker` exits 1 and a single node stops
("worker stopped unexpectedly") for its supervisor to restart.

In this process (the session's chdb path), against the real broker."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from common import migrations
from common.clickhouse import connect
from common.config import WorkerConfig
from common.kafka_admin import ensure_topics
from netobs.worker_thread import WorkerThread
from processors.app import make_app
from tests.signing_keys import WORKER

pytestmark = pytest.mark.integration


def test_a_worker_whose_fetcher_crashed_stops_with_the_reason(broker, chdb_path: Path) -> None:
    asyncio.run(ensure_topics(broker.admin, 4, 1))
    dsn = f"chdb://{chdb_path}"
    migrations.apply(connect(dsn), "netobs", 30)
    settings = WorkerConfig(group_id=f"netobs-worker-crash-{uuid.uuid4().hex[:8]}", parse_processes=0)
    thread = WorkerThread(make_app(broker.admin, 4, settings, dsn, "netobs", keys=WORKER))
    thread.start()
    try:
        assert thread.started.wait(60) and thread.error is None, thread.error
        app = thread.worker.app
        crash = app._fetcher.crash(RuntimeError("the fetcher broke"))
        asyncio.run_coroutine_threadsafe(crash, app.loop).result(30)
        thread.join(60)
        assert not thread.is_alive(), "the worker thread went on after its fetcher crashed"
        assert "the fetcher broke" in str(thread.error)
    finally:
        thread.stop()
