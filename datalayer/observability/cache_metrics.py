"""Cache counters as metrics: every hit, miss and error of a cache, per data type."""

from __future__ import annotations

from datalayer.cache import CacheEvent, DataType, TieredCache
from datalayer.metric_names import Metric
from datalayer.observability.emitter import Metrics, metrics

_METRIC = {
    CacheEvent.L1_HIT: Metric.CACHE_L1_HITS,
    CacheEvent.L2_HIT: Metric.CACHE_L2_HITS,
    CacheEvent.MISS: Metric.CACHE_MISSES,
    CacheEvent.ERROR: Metric.CACHE_ERRORS,
}


class CacheMetrics:
    """Subscribes to ``cache.stats`` and emits ``CacheL1Hits``, ``CacheL2Hits``,
    ``CacheMisses`` and ``CacheErrors`` with the ``data_type`` breakdown (errors outside a
    read carry no data type)."""

    def __init__(self, cache: TieredCache, *, emitter: Metrics = metrics) -> None:
        self._cache = cache
        self._emitter = emitter
        cache.stats.subscribe(self._on_event)

    def _on_event(self, event: CacheEvent, data_type: DataType | None) -> None:
        metric = _METRIC.get(event)
        if metric is None:
            return
        if data_type is None:
            self._emitter.count(metric)
        else:
            self._emitter.count(metric, data_type=data_type.value)

    def detach(self) -> None:
        """Stop emitting."""
        self._cache.stats.unsubscribe(self._on_event)
