"""Vendor and failure-kind samples (tests/data/syslog_corpus/samples.jsonl): the fields each sample asserts.

Each sample names the vendor document or public example its format comes from; the expected fields are what
rsyslog and syslog-ng make of the line where they agree, netobs's own conventions where they do not (a Cisco
mnemonic in msgid). bench/syslog_parse.py scores a parser on the same file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from processors.syslog.parse import mining_text, parse

CORPUS = Path(__file__).resolve().parents[1] / "data" / "syslog_corpus" / "samples.jsonl"
RECEIVED = 1_763_787_000_000_000_000  # 2025-11-22T04:50:00Z
SOURCE = "192.0.2.250"


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def line_of(sample: dict[str, Any]) -> bytes:
    return bytes.fromhex(sample["line_hex"]) if "line_hex" in sample else sample["line"].encode()


def expected_time(text: str) -> int:
    """ns of "YYYY-MM-DDThh:mm:ss.ffffffZ", or RECEIVED for "received"."""
    if text == "received":
        return RECEIVED
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1_000_000) * 1000


def expected(sample: dict[str, Any]) -> dict[str, Any]:
    want = dict(sample["expected"])
    if "event_time" in want:
        want["event_time"] = expected_time(want["event_time"])
    return want


def actual(sample: dict[str, Any], parse_line: Any = parse) -> dict[str, Any]:
    """The sample's asserted fields as parse_line gives them (event time to the microsecond, SD as JSON)."""
    r = parse_line(line_of(sample), RECEIVED, SOURCE)
    got: dict[str, Any] = {}
    for field in sample["expected"]:
        if field == "event_time":
            got[field] = r.event_time_ns // 1000 * 1000
        elif field == "structured_data":
            got[field] = json.loads(r.structured_data) if r.structured_data else ""
        elif field == "parse_issues":
            got[field] = list(getattr(r, field, ()))
        else:
            got[field] = getattr(r, field, None)
    return got


SAMPLES = load()


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{i}-{s['vendor']}" for i, s in enumerate(SAMPLES)])
def test_sample_fields(sample):
    assert sample["source"]
    assert actual(sample) == expected(sample)


def test_corpus_is_broad():
    vendors = {s["vendor"].split(":")[0].split("-")[0] for s in SAMPLES}
    assert len(SAMPLES) >= 50 and len(vendors) >= 14


def test_framing_does_not_change_the_mining_text():
    bsd = parse(b"<189>512: R1: Nov 20 10:11:12.345 UTC: %SYS-5-CONFIG_I: Configured from vty0", RECEIVED, SOURCE)
    ietf = parse(b"<189>1 2025-11-20T10:11:12.345Z R1 - - - - %SYS-5-CONFIG_I: Configured from vty0", RECEIVED, SOURCE)
    assert mining_text(bsd) == mining_text(ietf) == "SYS Configured from vty0"
    assert (bsd.compliance, ietf.compliance) == ("non-standard", "rfc5424")
