"""Cache counters as metrics: hits, misses and errors of a cache, per data type.

A cache read costs a few microseconds, so it records nothing but an integer increment
(:class:`~datalayer.cache.CacheStats`); this module turns the counters into metric points
in bulk: the growth of each counter since the last publication, as one point per metric and
data type. It publishes when the emitter flushes (the end of a Lambda invocation), every
``interval_s`` while started (containers, where Prometheus pulls), and when detached.
"""

from __future__ import annotations

import asyncio

from datalayer.cache import DataType, TieredCache, TypeCounters
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics, metrics

PUBLISH_INTERVAL_S = 10.0
"""How often a started :class:`CacheMetrics` publishes (a CloudWatch minute holds six)."""

_FIELDS = (
    ("l1_hits", Metric.CACHE_L1_HITS),
    ("l2_hits", Metric.CACHE_L2_HITS),
    ("misses", Metric.CACHE_MISSES),
    ("errors", Metric.CACHE_ERRORS),
)


class CacheMetrics:
    """Publishes ``CacheL1Hits``, ``CacheL2Hits``, ``CacheMisses`` and ``CacheErrors`` of
    ``cache`` with the ``data_type`` breakdown (errors outside a read carry no data type).

    Counts from construction on; call :meth:`publish` to record what accumulated now.
    """

    def __init__(
        self,
        cache: TieredCache,
        *,
        emitter: Metrics = metrics,
        interval_s: float = PUBLISH_INTERVAL_S,
    ) -> None:
        self._cache = cache
        self._emitter = emitter
        self._interval_s = interval_s
        self._published: dict[DataType | None, TypeCounters] = cache.stats.snapshot()
        self._task: asyncio.Task[None] | None = None
        emitter.before_flush(self.publish)

    def publish(self) -> None:
        """Record how much each counter grew since the last publication (nothing if not)."""
        current = self._cache.stats.snapshot()
        for data_type, counters in current.items():
            before = self._published.get(data_type) or TypeCounters()
            for field, metric in _FIELDS:
                grown = getattr(counters, field) - getattr(before, field)
                if grown <= 0:
                    continue
                if data_type is None:
                    self._emitter.count(metric, grown)
                else:
                    self._emitter.count(metric, grown, data_type=data_type.value)
        self._published = current

    def start(self) -> None:
        """Publish every ``interval_s`` from a task of the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._every_interval(), name="cache-metrics")

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            self.publish()

    def detach(self) -> None:
        """Publish what is left and stop publishing."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._emitter.remove_before_flush(self.publish)
        self.publish()
