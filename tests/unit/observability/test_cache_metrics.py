"""Cache counters reach the emitter aggregated: one point per metric and data type per
publication, never one call per cache read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from datalayer.cache import CacheConfig, DataType, TieredCache, keys
from datalayer.observability.cache_metrics import CacheMetrics
from datalayer.observability.emf import EmfBackend
from datalayer.observability.emitter import Metrics, Point


class Recording:
    """A backend that keeps every point it is given."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def record(self, point: Point) -> None:
        self.points.append(point)

    def flush(self) -> None:
        """Nothing is buffered."""


async def _reads(cache: TieredCache, count: int) -> None:
    async def load() -> dict[str, int]:
        return {"id": 1}

    for _ in range(count):
        await cache.get_or_load(keys.user_profile("u1"), load)


async def test_reads_record_no_point_until_published_then_one_per_metric_and_type() -> None:
    backend = Recording()
    emitter = Metrics(backend, environment="test")
    cache = TieredCache(CacheConfig())  # L1 only: every read after the first is an L1 hit
    publisher = CacheMetrics(cache, emitter=emitter)
    try:
        await _reads(cache, 500)
        assert backend.points == []  # the read path emitted nothing
        emitter.flush()
        counted = {
            (p.metric.value, p.breakdown[1] if p.breakdown else None, p.value)
            for p in backend.points
        }
        assert counted == {
            ("CacheMisses", DataType.USER_PROFILE.value, 1.0),
            ("CacheL1Hits", DataType.USER_PROFILE.value, 499.0),
        }
        backend.points.clear()
        emitter.flush()
        assert backend.points == []  # nothing new: nothing published twice
        await _reads(cache, 3)
    finally:
        publisher.detach()
    assert [(p.metric.value, p.value) for p in backend.points] == [("CacheL1Hits", 3.0)]
    backend.points.clear()
    emitter.flush()
    assert backend.points == []  # detached


async def test_a_started_publisher_publishes_on_its_interval() -> None:
    documents: list[dict[str, Any]] = []
    emitter = Metrics(EmfBackend(lambda line: documents.append(json.loads(line))), environment="t")
    cache = TieredCache(CacheConfig())
    publisher = CacheMetrics(cache, emitter=emitter, interval_s=0.01)
    publisher.start()
    try:
        await _reads(cache, 2)
        for _ in range(500):
            await asyncio.sleep(0.01)
            emitter.backend.flush()  # the backend alone: only the interval publishes
            if documents:
                break
    finally:
        publisher.detach()
    assert documents and documents[0]["CacheL1Hits"] == [1.0]
    assert documents[0]["DataType"] == DataType.USER_PROFILE.value
