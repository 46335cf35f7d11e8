"""Hardening issue, finding 9 on a single node: one worker holds every partition, and the records of a flood
(garbage, which mines slowly) sat ahead of another partition's records in its agent's one queue, so a clean
sender's lines waited for the flood's. Now the agent holds a queue per partition and each batch takes from every
partition with something waiting.

A real `netobs worker` against the real broker: a backlog of garbage in one partition, then a few clean lines in
another. Counted in the flood's records stored (committed offsets, read from the broker) between the clean lines
being sent and their being stored, never in seconds."""

from __future__ import annotations

import asyncio
import json
import random
import string
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from common.kafka_admin import ensure_topics
from tests import brokers
from tests.integration.pipeline import committed_raw, node_env, send_raw

pytestmark = pytest.mark.integration

PARTITIONS = 4
FLOOD, NEIGHBOUR = 1, 0
FLOOD_RECORDS, LINES_PER_RECORD = 600, 500
NEIGHBOUR_RECORDS, NEIGHBOUR_LINES = 3, 10
RESUMED = 200
"""Records of the flood stored once it was paused for holding too much and fetched again (a pause that was never
lifted, or lifted wrongly, stopped the worker's fetching: Faust's fetcher crashed on a partition of the wrong
type)."""
BEFORE = 200
"""Before, a batch took up to worker.batch_records (200) records in the order Faust's one queue for the topic
held them, and up to worker.buffer_records (128) of the flood's were fetched ahead of anything another partition
sent: on main, 317 of the flood's records were stored between the clean lines being sent and their being stored
in one run, and in another all 600 were stored before the clean lines (now 11-13 on the same machine)."""


def _garbage(seed: int, count: int) -> list[list[bytes]]:
    """count records of lines of random words, each line a new shape for the miner: LINES_PER_RECORD * 100
    distinct lines, repeated past that (the test is decided in its first few dozen records)."""
    rng = random.Random(seed)
    letters = bytes(string.ascii_letters.encode()[b % 52] for b in range(256))
    lines = []
    for _ in range(LINES_PER_RECORD * 100):
        text = rng.randbytes(66).translate(letters)
        words = b" ".join(text[i : i + 6] for i in range(0, 66, 6))
        lines.append(b"<13>Dec  4 10:00:00 noisy " + words[:6] + b": " + words[7:])
    return [[lines[(r * LINES_PER_RECORD + i) % len(lines)] for i in range(LINES_PER_RECORD)] for r in range(count)]


def test_clean_lines_do_not_wait_behind_another_partitions_flood(broker, tmp_path: Path) -> None:
    group = f"netobs-worker-fair-{uuid.uuid4().hex[:8]}"
    marker = f"fair{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(broker.admin, PARTITIONS, 1))
    start = asyncio.run(committed_raw(broker.admin, group, PARTITIONS, missing=0, commit_ends=True))

    def stored() -> dict[int, int]:
        return asyncio.run(committed_raw(broker.admin, group, PARTITIONS, missing=0))

    asyncio.run(send_raw(broker.admin, [(FLOOD, lines) for lines in _garbage(9, FLOOD_RECORDS)], "127.0.0.2"))
    env = node_env(broker, tmp_path, "worker", NETOBS_WORKER_GROUP_ID=group, NETOBS_KAFKA_PARTITIONS=str(PARTITIONS))
    log_path = tmp_path / "worker.log"
    worker = brokers.spawn([sys.executable, "-m", "netobs", "worker"], log_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while (sent_at := stored())[FLOOD] < start[FLOOD] + 5:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker stored nothing of the flood"
            time.sleep(0.1)
        clean = [
            [f"<13>Dec  4 10:00:01 quiet app: {marker} r{r} l{i}".encode() for i in range(NEIGHBOUR_LINES)]
            for r in range(NEIGHBOUR_RECORDS)
        ]
        asyncio.run(send_raw(broker.admin, [(NEIGHBOUR, lines) for lines in clean], "127.0.0.3"))
        neighbour_end = start[NEIGHBOUR] + NEIGHBOUR_RECORDS
        while (stored_at := stored())[NEIGHBOUR] < neighbour_end:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline + 300, "the clean lines were never stored"
            time.sleep(0.1)
        # The worker holds at most a quarter of worker.batch_bytes of a partition (84 of these records), so it
        # has paused the flood's partition and must have fetched it again to get this far.
        while stored()[FLOOD] < start[FLOOD] + RESUMED:
            assert worker.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline + 600, "the flood's partition was never fetched again"
            time.sleep(0.2)
    finally:
        brokers.stop(worker)
    behind = stored_at[FLOOD] - sent_at[FLOOD]
    assert stored_at[FLOOD] < start[FLOOD] + FLOOD_RECORDS, "the flood was all stored first"
    assert behind < BEFORE // 5, f"{behind} of the flood's records were stored before the clean ones"

    script = (
        "import json, sys; from common.clickhouse import connect; c = connect(sys.argv[1]); "
        "print(json.dumps(c.query('SELECT count(), uniqExact(message) FROM netobs.syslog "
        "WHERE position(message, {m:String}) > 0', parameters={'m': sys.argv[2]}).result_rows[0]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{(tmp_path / 'clickhouse').resolve()}", marker],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [NEIGHBOUR_RECORDS * NEIGHBOUR_LINES] * 2
