"""The ingest ledger (hardening finding 12): a crash leaves a trace of what was at risk, a clean stop none."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ingest import ledger


def _snapshot(**transports: tuple[int, int, int]) -> dict[str, dict[str, int]]:
    return {
        name: {"received": r, "delivered": d, "dropped": x, "bytes": 0, "batches": 0}
        for name, (r, d, x) in transports.items()
    }


def test_entry_counts_what_was_accepted_and_not_settled() -> None:
    e = ledger.entry(_snapshot(udp=(100, 70, 5), tcp=(40, 40, 0), tls=(0, 0, 0)), started=1.0, clean=False, now=2.0)
    assert e["transports"] == {
        "udp": {"received": 100, "delivered": 70, "dropped": 5, "spooled": 0, "at_risk": 25},
        "tcp": {"received": 40, "delivered": 40, "dropped": 0, "spooled": 0, "at_risk": 0},
    }
    assert (e["clean"], e["started"], e["updated"]) == (False, 1.0, 2.0)


def test_lines_in_the_spool_are_not_at_risk_and_lines_restored_from_it_are_accounted() -> None:
    """100 received, 30 of the previous run's spool found at start: 90 delivered, 2 dropped past the spool's
    bound, 1 on a write error, 20 in the spool now: 17 are in memory only."""
    udp = {"received": 100, "delivered": 90, "dropped": 0, "dropped_spool_full": 2, "dropped_spool_error": 1}
    e = ledger.entry({"udp": {**udp, "spool_lines": 20, "spool_restored": 30}}, started=1.0, clean=False)
    assert e["transports"]["udp"] == {"received": 100, "delivered": 90, "dropped": 3, "spooled": 20, "at_risk": 17}


def test_an_unclean_end_is_reported_with_what_was_at_risk() -> None:
    previous = ledger.entry(_snapshot(udp=(100, 70, 5), relp=(10, 4, 0)), started=1.0, clean=False, now=0.0)
    report = ledger.loss_report(previous)
    assert report is not None
    assert "ended without a clean stop after 1970-01-01 00:00:00 UTC" in report
    assert "31 lines it had accepted were not yet confirmed by the broker (relp 6, udp 25)" in report
    assert "counted 5 lines dropped" in report and "not known" in report


def test_a_clean_stop_or_no_previous_run_says_nothing() -> None:
    assert ledger.loss_report(None) is None
    assert ledger.loss_report(ledger.entry(_snapshot(udp=(9, 9, 0)), 1.0, clean=True)) is None


def test_written_atomically_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ingest-syslog.json"
    value = ledger.entry(_snapshot(udp=(3, 1, 0)), 1.0, clean=False)
    ledger.write(path, value)
    assert ledger.read(path) == value
    assert path.stat().st_mode & 0o077 == 0
    assert not path.with_suffix(".tmp").exists()


def test_an_unreadable_ledger_is_said_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ingest-syslog.json"
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="netobs.ingest"):
        assert ledger.read(path) is None
    assert "unreadable" in caplog.text


def test_open_ledger_logs_the_previous_runs_report(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ingest-syslog.json"
    ledger.write(path, ledger.entry(_snapshot(tcp=(50, 20, 0)), 1.0, clean=False))
    with caplog.at_level(logging.WARNING, logger="netobs.ingest"):
        ledger.open_ledger(path)
    assert "30 lines it had accepted were not yet confirmed" in caplog.text
