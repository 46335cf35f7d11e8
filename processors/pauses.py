"""Which partitions the worker has stopped fetching, and why.

Two things pause fetching: an agent whose queue for one partition is at its bound (fair_batches), and the node's
memory watch, which pauses every partition. A partition is fetched again only once no reason holds it, so the
memory watch's resume does not undo a fairness pause or the other way round.

Faust's own buffer-full pause is what is used (Consumer.on_buffer_full/on_buffer_drop): records of a paused
partition already fetched are still handed over. Its pause_partitions instead drops them from the fetch being
handed over while the consumer's position has moved past them, so they would not be seen again before a restart
(as Faust's consumer code reads; not reproduced here).
"""

from __future__ import annotations

from collections.abc import Iterable

import faust
from faust.types import TP


class Pauses:
    """The reasons holding each paused partition of one Faust app (its event loop only)."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._why: dict[TP, set[str]] = {}

    def hold(self, reason: str, tps: Iterable[TP]) -> None:
        """Stop fetching tps for reason (again, if a rebalance resumed them)."""
        consumer = self._app.consumer
        for tp in map(_faust_tp, tps):
            self._why.setdefault(tp, set()).add(reason)
            consumer.on_buffer_full(tp)

    def release(self, reason: str, tps: Iterable[TP] | None = None) -> None:
        """Drop reason from tps (default: every partition it holds); fetch those no other reason holds."""
        consumer = self._app.consumer
        for tp in list(self._why) if tps is None else map(_faust_tp, tps):
            reasons = self._why.get(tp)
            if reasons is None or reason not in reasons:
                continue
            reasons.discard(reason)
            if not reasons:
                del self._why[tp]
                consumer.on_buffer_drop(tp)

    def held(self, reason: str, topic: str) -> list[TP]:
        """Partitions of topic that reason holds."""
        return [tp for tp, reasons in self._why.items() if reason in reasons and tp.topic == topic]

    def forget(self, tps: Iterable[TP]) -> None:
        """Partitions revoked: the consumer no longer fetches them, and a new assignment starts them unpaused."""
        for tp in map(_faust_tp, tps):
            self._why.pop(tp, None)


def _faust_tp(tp: TP) -> TP:
    """Faust's own TP: a message's tp is the broker client's TopicPartition, an equal tuple of another class, and
    the consumer's set of partitions to fetch asserts that it holds only TPs (one other crashed its fetcher and
    the worker fetched nothing more)."""
    return tp if type(tp) is TP else TP(tp.topic, tp.partition)
