"""Log format shared by every netobs command: time, level, component, message; services also keep their
warnings and errors in the data directory, where `netobs status` finds the last ones.

While the broker is away, the Kafka client libraries log the same condition many times a second (a 43 s
restart under a node: 21,366 ERROR lines). BrokerLogGate keeps those to one line when the broker is lost,
naming what waits and where it is counted, a summary every SUMMARY_SECONDS, and one line when it is back.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ERROR_LOG_BYTES = 1_000_000
LIBRARIES = ("aiokafka", "kafka", "faust", "mode")
SUMMARY_SECONDS = 30.0
QUIET_SECONDS = 15.0
"""No library complaint for this long after an outage: time to ask the broker whether it answers again."""
PROBE_SECONDS = 5.0
"""How long the probe waits for the broker's answer."""
WATCHER = "broker-log-gate"
"""The gate's own thread: the probe's library messages, logged from it, are neither shown nor counted."""

BROKER_AWAY = re.compile(
    r"Unable connect to node|Unable to update metadata|NodeNotReady|KafkaConnectionError|Connect call failed"
    r"|Connection at \S+ closed|KafkaTimeoutError|RequestTimedOut|Heartbeat send request failed"
    r"|Error sending \w+Request to node|Heartbeat session expired",
)
"""What aiokafka (and Faust above it) say, at WARNING or ERROR, when the broker cannot be reached. Not the
coordinator or a partition leader being elected (a broker that answers says so once, at start or after a
restart): those lines pass as they are."""

WAITING = {
    "run": "the worker waits for records, which stay in the broker (nothing is stored meanwhile), and action "
    "tools cannot publish commands",
    "ingest": "receivers keep what they accepted and send it again when it answers (netobs_syslog_retried_total; "
    "UDP lines past their queue are dropped and counted in netobs_syslog_dropped_total)",
    "traps": 'traps wait in the publish queue (netobs_traps_dropped_total{reason="queue"} counts those past it)',
    "worker": "the worker waits for records, which stay in the broker; nothing is stored meanwhile",
    "executor": "commands wait in the broker and run once it answers",
    "poller": "poll results wait in the publish queue (netobs_poller_dropped_total counts those past it)",
    "mcp": "action tools cannot publish commands",
}


class BrokerLogGate(logging.Filter):
    """Holds back the Kafka libraries' repeated broker-unreachable messages, and says instead, once, that
    the broker is lost (with the first message and what waits), every summary_seconds how long and how many
    messages were held back, and once that it is back: quiet_seconds without such a message, and then the
    probe (when set: a Metadata request, see probe_broker) answered.

    A filter on every handler of the root logger (a filter on a library's logger would miss its children);
    a record reaches each handler, so the verdict of the last record is kept for the others.
    """

    def __init__(
        self,
        waiting: str,
        summary_seconds: float = SUMMARY_SECONDS,
        quiet_seconds: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.waiting = waiting
        self.summary_seconds = summary_seconds
        self.quiet_seconds = quiet_seconds
        self.clock = clock
        self.probe: Callable[[], bool] | None = None
        """Whether the broker answers now; None: quiet alone says it is back (a process with no broker address)."""
        self.log = logging.getLogger("netobs.broker")
        self._lock = threading.RLock()
        self._last: tuple[logging.LogRecord | None, bool] = (None, True)
        self._lost_at: float | None = None
        self._last_seen = 0.0
        self._last_summary = 0.0
        self._held: Counter[str] = Counter()
        self._watcher: threading.Thread | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            if record is self._last[0]:
                return self._last[1]
            about = self._about_broker(record)
            if about and record.threadName != WATCHER:
                self._hold(record)
            self._last = (record, not about)
            return not about

    @staticmethod
    def _about_broker(record: logging.LogRecord) -> bool:
        return (
            record.levelno >= logging.WARNING
            and record.name.split(".", 1)[0] in LIBRARIES
            and (record.threadName == WATCHER or BROKER_AWAY.search(record.getMessage()) is not None)
        )

    def _hold(self, record: logging.LogRecord) -> None:
        now = self.clock()
        self._last_seen = now
        self._held[record.name] += 1
        if self._lost_at is None:
            self._lost_at = self._last_summary = now
            self.log.error(
                "broker unreachable (%s: %s); until it answers, %s. Repeats of this are held back: a summary "
                "every %.0f s, and a line when it is back",
                record.name,
                record.getMessage()[:300],
                self.waiting,
                self.summary_seconds,
            )
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name=WATCHER, daemon=True)
                self._watcher.start()

    def tick(self) -> bool:
        """Say what is due (a summary, or that the broker is back); False once the outage is over. The probe runs
        outside the lock (it may wait PROBE_SECONDS), so the libraries' messages are filtered meanwhile."""
        with self._lock:
            if self._lost_at is None:
                return False
            quiet = self.clock() - self._last_seen >= self.quiet_seconds
            probe = self.probe
        answered = quiet and (probe is None or probe())
        with self._lock:
            if self._lost_at is None:
                return False
            now = self.clock()
            if answered and now - self._last_seen >= self.quiet_seconds:
                self.log.warning(
                    "broker answering again: no broker errors for %.0f s%s, after %.0f s away; %s",
                    self.quiet_seconds,
                    " and it answered a metadata request" if probe is not None else "",
                    self._last_seen - self._lost_at,
                    self._counts(),
                )
                self._lost_at = None
                self._held.clear()
                return False
            if now - self._last_summary >= self.summary_seconds:
                self._last_summary = now
                self.log.warning(
                    "broker still unreachable after %.0f s%s; %s",
                    now - self._lost_at,
                    "" if not quiet else " (the clients are quiet, but it does not answer a metadata request)",
                    self._counts(),
                )
            return True

    def _counts(self) -> str:
        total = sum(self._held.values())
        by = ", ".join(f"{name} {n}" for name, n in self._held.most_common())
        return f"{total} library messages about it held back ({by})"

    def _watch(self) -> None:
        while self.tick():
            time.sleep(1.0)


def setup(level: str, command: str = "") -> None:
    """Log to stderr, so stdout stays free for data (CSV, MCP over stdio); a service's broker outages are
    told by a BrokerLogGate, not by the libraries' repeats."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format=FORMAT, force=True)
    for noisy in ("aiokafka", "faust", "mode", "httpx", "httpx2", "mcp", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    if command in WAITING:
        gate = BrokerLogGate(WAITING[command])
        for handler in logging.getLogger().handlers:
            handler.addFilter(gate)


def probe_broker(answers: Callable[[], bool]) -> None:
    """Give this process's BrokerLogGate the probe that tells it the broker is back (common.kafka_client.answers
    with the process's own access); a process without a gate ignores it."""
    for handler in logging.getLogger().handlers:
        for gate in handler.filters:
            if isinstance(gate, BrokerLogGate):
                gate.probe = answers


def keep_errors(data_dir: Path, service: str) -> None:
    """Also write this service's warnings and errors to data_dir/logs/errors-<service>.log (one file per
    service: processes never share a rotating file), kept to about a megabyte."""
    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        folder / f"errors-{service}.log", maxBytes=ERROR_LOG_BYTES, backupCount=1
    )
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    for existing in logging.getLogger().handlers:
        for gate in existing.filters:
            if isinstance(gate, BrokerLogGate):
                handler.addFilter(gate)
    logging.getLogger().addHandler(handler)


def error_logs(data_dir: Path) -> list[Path]:
    """The error logs keep_errors writes (current files only)."""
    return sorted((data_dir / "logs").glob("errors-*.log"))
