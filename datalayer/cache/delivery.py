"""Delivery of invalidations to the other processes, and what happens when Redis is down.

A delivered invalidation is acknowledged by every subscriber (each drops its L1 copies
first); :meth:`InvalidationDelivery.await_acknowledgements` waits for all of them, bounded.
An invalidation Redis could not take is queued and retried in the background; while any is
queued this process uses neither level, and the first writes of an outage wait until every
other subscriber must have noticed the outage (and dropped its L1) before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis.exceptions import RedisError

from datalayer.cache.config import CacheConfig
from datalayer.cache.keys import GLOBAL_SCOPE
from datalayer.cache.redis import RedisStore
from datalayer.cache.stats import CacheEvent, CacheStats

_MAX_UNDELIVERED = 10_000
_ACK_POLL_S = 0.0005


class InvalidationDelivery:
    """Acknowledged delivery plus the queue of undelivered scopes of one process."""

    def __init__(
        self, store: RedisStore | None, *, origin: str, stats: CacheStats, config: CacheConfig
    ) -> None:
        self.store = store
        self._origin = origin
        self._stats = stats
        self._config = config
        self._undelivered: set[str] = set()
        self._position: int | None = None
        self._outage_noticed_at = 0.0
        self._retry_task: asyncio.Task[None] | None = None
        self.delivered = asyncio.Event()
        """Set whenever nothing is queued any more."""

    @property
    def has_undelivered(self) -> bool:
        return bool(self._undelivered)

    @property
    def outage_wait_s(self) -> float:
        """Past the time other subscribers need to notice an outage (3 heartbeats + timeout)."""
        return 4 * self._config.heartbeat_s + self._config.redis_timeout_s

    async def await_acknowledgements(self, ack_key: str, receivers: int) -> None:
        """Wait until every subscriber applied the invalidation (or the outage bound passed).

        A subscriber that cannot acknowledge within the bound has lost Redis too, and its
        heartbeat has made it drop its L1 by then.
        """
        assert self.store is not None
        deadline = time.monotonic() + self.outage_wait_s
        while time.monotonic() < deadline:
            try:
                async with asyncio.timeout(self._config.redis_timeout_s):
                    if await self.store.acknowledgements(ack_key) >= receivers:
                        return
            except (RedisError, OSError, TimeoutError):
                self._stats.record(CacheEvent.ERROR, None)
            await asyncio.sleep(_ACK_POLL_S)

    async def queue_and_wait(self, scopes: list[str], position: int | None) -> None:
        """Queue scopes Redis did not take; the first writes of an outage wait it out."""
        if not self._undelivered:
            self._outage_noticed_at = time.monotonic()
        self._undelivered.update(scopes)
        if len(self._undelivered) > _MAX_UNDELIVERED:
            self._undelivered = {GLOBAL_SCOPE}
        if position is not None:
            self._position = max(position, self._position or 0)
        self.delivered.clear()
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._retry())
        remaining = self._outage_noticed_at + self.outage_wait_s - time.monotonic()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, remaining)):
                await self.delivered.wait()

    async def _retry(self) -> None:
        assert self.store is not None
        while self._undelivered:
            await asyncio.sleep(self._config.retry_undelivered_s)
            scopes, position = sorted(self._undelivered), self._position
            try:
                async with asyncio.timeout(self._config.redis_timeout_s):
                    published = await self.store.invalidate(scopes, position, self._origin)
            except (RedisError, OSError, TimeoutError):
                self._stats.record(CacheEvent.ERROR, None)
                continue
            await self.await_acknowledgements(*published)
            self._undelivered.difference_update(scopes)
        self.delivered.set()

    async def aclose(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry_task
