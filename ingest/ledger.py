"""What a receiver has accepted and the broker not yet confirmed, written down every second.

A crash leaves no other trace of the lines that were in a receiver's memory when it died. With the ledger, the
next start can say that the previous run ended without a clean stop and how many lines were at risk at its
last entry: an upper bound on what was lost (the broker may still have taken some before the end), plus an
unknown number received in the last second. Lines the kernel had accepted and the receiver never read are not
knowable from here; the log says so rather than pretend.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("netobs.ingest")

LEDGER_SECONDS = 1.0

Snapshot = Mapping[str, Mapping[str, int]]
"""Counters by transport, then name (ingest.counters.Counters.snapshot())."""


def entry(snapshot: Snapshot, started: float, clean: bool, now: float | None = None) -> dict[str, Any]:
    """One ledger entry: per transport, lines received, delivered, dropped and still at risk.

    Lines in the spool are on disk, not at risk; lines a previous run left there and this one sent count as
    delivered, so they are added to what came in.
    """
    transports = {
        name: {
            "received": c["received"],
            "delivered": c["delivered"],
            "dropped": (dropped := c["dropped"] + c.get("dropped_spool_full", 0) + c.get("dropped_spool_error", 0)),
            "spooled": c.get("spool_lines", 0),
            "at_risk": max(
                0, c["received"] + c.get("spool_restored", 0) - c["delivered"] - dropped - c.get("spool_lines", 0)
            ),
        }
        for name, c in snapshot.items()
        if c["received"]
    }
    return {
        "pid": os.getpid(),
        "started": started,
        "updated": time.time() if now is None else now,
        "clean": clean,
        "transports": transports,
    }


def loss_report(previous: Mapping[str, Any] | None, interval: float = LEDGER_SECONDS) -> str | None:
    """What the next start says about a previous run that did not stop cleanly; None when it did (or none ran)."""
    if not previous or previous.get("clean", True):
        return None
    transports: Mapping[str, Mapping[str, int]] = previous.get("transports", {})
    at_risk = sum(t.get("at_risk", 0) for t in transports.values())
    detail = ", ".join(f"{name} {t.get('at_risk', 0)}" for name, t in sorted(transports.items()) if t.get("at_risk"))
    dropped = sum(t.get("dropped", 0) for t in transports.values())
    spooled = sum(t.get("spooled", 0) for t in transports.values())
    kept = f"; {spooled} lines it had spooled are on disk and sent from there" if spooled else ""
    updated = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(previous.get("updated", 0))))
    return (
        f"the previous run (pid {previous.get('pid', '?')}) ended without a clean stop after {updated} UTC: "
        f"{at_risk} lines it had accepted were not yet confirmed by the broker ({detail or 'none'}) and may be "
        f"lost; lines received in its last {interval:g} s and datagrams still in the kernel's socket buffer "
        f"are not known; it had counted {dropped} lines dropped{kept}"
    )


def read(path: Path) -> dict[str, Any] | None:
    """The last entry, or None when there is none or it cannot be read (said in the log)."""
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ingest ledger %s unreadable (%s): the previous run's losses are not known", path, exc)
        return None
    return value if isinstance(value, dict) else None


def write(path: Path, value: Mapping[str, Any]) -> None:
    """Replace the entry atomically (a crash mid-write leaves the previous one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


async def keep(path: Path, snapshot: Callable[[], Snapshot], started: float) -> None:
    """Write an unclean entry every LEDGER_SECONDS until cancelled (the clean one is written at stop)."""
    while True:
        write(path, entry(snapshot(), started, clean=False))
        await asyncio.sleep(LEDGER_SECONDS)


def open_ledger(path: Path) -> float:
    """At start: report what the previous run may have lost, then begin a new ledger; returns the start time."""
    report = loss_report(read(path))
    if report:
        log.warning("%s", report)
    return time.time()
