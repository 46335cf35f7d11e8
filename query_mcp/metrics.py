"""Prometheus metrics of the MCP service (text exposition format 0.0.4), kept in process.

Requests by outcome, denials by reason, tool calls by tool and outcome, and a latency histogram.
Label values come from a closed set (outcomes, reasons, tool names), never from request data, so a
client cannot blow up the series count.
"""

from __future__ import annotations

import bisect
import collections
import threading

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: collections.Counter[tuple[str, tuple[tuple[str, str], ...]]] = collections.Counter()
        self._hist_counts = [0] * (len(BUCKETS) + 1)
        self._hist_sum = 0.0

    def count(self, name: str, **labels: str) -> None:
        with self._lock:
            self._counters[(name, tuple(sorted(labels.items())))] += 1

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._hist_counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._hist_sum += seconds

    def value(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._counters[(name, tuple(sorted(labels.items())))]

    def render(self) -> str:
        """The exposition text."""
        helps = {
            "netobs_mcp_requests_total": "MCP HTTP requests by outcome.",
            "netobs_mcp_denials_total": "Requests refused, by reason.",
            "netobs_mcp_tool_calls_total": "Tool calls by tool and outcome.",
        }
        lines: list[str] = []
        with self._lock:
            by_name: dict[str, list[tuple[tuple[tuple[str, str], ...], int]]] = collections.defaultdict(list)
            for (name, labels), value in sorted(self._counters.items()):
                by_name[name].append((labels, value))
            for name, series in by_name.items():
                lines += [f"# HELP {name} {helps.get(name, name)}", f"# TYPE {name} counter"]
                for labels, value in series:
                    lines.append(f"{name}{_labels(labels)} {value}")
            lines += [
                "# HELP netobs_mcp_request_seconds Latency of MCP requests.",
                "# TYPE netobs_mcp_request_seconds histogram",
            ]
            cumulative = 0
            for bound, n in zip((*BUCKETS, float("inf")), self._hist_counts, strict=True):
                cumulative += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'netobs_mcp_request_seconds_bucket{{le="{le}"}} {cumulative}')
            lines.append(f"netobs_mcp_request_seconds_sum {self._hist_sum:.6f}")
            lines.append(f"netobs_mcp_request_seconds_count {cumulative}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
