"""The executor's Prometheus families: commands by tool and the step they reached (the outcome)."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric

from common.metrics import counter
from executor.service import Executor


def executor_families(executor: Executor) -> list[Metric]:
    steps = dict(executor.steps)  # a copy: the event loop may add a step while the scrape reads
    return [
        counter(
            "netobs_executor_commands_total",
            "Commands that reached a step, by tool and step: pending_approval, executing, then the outcome "
            "(executed, failed, denied, timed_out).",
            ["tool", "step"],
            (([tool or "unknown", step], n) for (tool, step), n in sorted(steps.items())),
        ),
        counter(
            "netobs_executor_records_total",
            "Records read from the commands topic, by outcome (ok, undecodable).",
            ["outcome"],
            [
                (["ok"], executor.counts["commands"] - executor.counts["undecodable"]),
                (["undecodable"], executor.counts["undecodable"]),
            ],
        ),
    ]
