"""Every Redis call of the cache goes through one guard: a timeout, the circuit breaker and
the error counter, so a Redis failure becomes :class:`RedisUnavailable` and never a failed
read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from datalayer.cache.breaker import CircuitBreaker
from datalayer.cache.keys import DataType
from datalayer.cache.stats import CacheEvent, CacheStats

T = TypeVar("T")


class RedisUnavailable(Exception):
    """Redis could not be used for this call (breaker open, timeout, connection error)."""


class RedisGuard:
    """Runs one Redis call with the cache's timeout, recording the outcome on the breaker."""

    def __init__(self, breaker: CircuitBreaker, stats: CacheStats, timeout_s: float) -> None:
        self.breaker = breaker
        self.stats = stats
        self.timeout_s = timeout_s

    async def __call__(self, data_type: DataType | None, call: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await call()
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.record_failure()
            self.stats.record(CacheEvent.ERROR, data_type)
            raise RedisUnavailable from exc
        self.breaker.record_success()
        return result
