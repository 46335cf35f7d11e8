"""Prometheus metric families read from the counters each stage already keeps, and the merge that lets a
single node answer for all its processes on one endpoint.

Stages count in plain integers on their own event loop (cheap on the hot path); a scrape reads them through
a Source, so nothing is counted twice and nothing is counted for the scrape's sake alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Series = Iterable[tuple[Sequence[str], float]]
"""(label values, value) of each series of a family."""


def counter(name: str, doc: str, labels: Sequence[str], series: Series) -> CounterMetricFamily:
    """A counter family (name ends in _total) with one series per label values."""
    family = CounterMetricFamily(name, doc, labels=labels)
    for values, value in series:
        family.add_metric(values, value)
    return family


def gauge(name: str, doc: str, labels: Sequence[str], series: Series) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in series:
        family.add_metric(values, value)
    return family


class Source(Collector):
    """A collector over a function returning families: the counters are read when scraped."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return list(self._families())

    def describe(self) -> Iterable[Metric]:
        """Nothing: registering must not read the counters (a worker's, read before it starts, would build its
        Kafka consumer on the registering thread's loop, and the worker then fails to start)."""
        return []


def with_process(by_process: Mapping[str, Iterable[Metric]]) -> list[Metric]:
    """The families of several processes as one exposition: a family of the same name in two processes
    becomes one, each series labelled process="<name>" (an exposition may name a family only once)."""
    merged: dict[str, Metric] = {}
    for process, families in by_process.items():
        for family in families:
            into = merged.get(family.name)
            if into is None:
                into = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
            into.samples += [s._replace(labels={**s.labels, "process": process}) for s in family.samples]
    return list(merged.values())
