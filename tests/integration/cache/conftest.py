"""Caches against the session's real redis-server, each test under its own key prefix."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from datalayer.cache import CacheConfig, TieredCache
from tests.services import RedisHarness


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def make_cache(
    redis_server: RedisHarness, prefix: str
) -> AsyncIterator[Callable[..., Awaitable[TieredCache]]]:
    """Builds started caches sharing one Redis and prefix (each is one "process")."""
    async for build in _cache_factory(redis_server.url, prefix):
        yield build


@pytest.fixture
async def raw_redis(redis_server: RedisHarness) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


async def _cache_factory(
    url: str, prefix: str
) -> AsyncIterator[Callable[..., Awaitable[TieredCache]]]:
    caches: list[TieredCache] = []

    async def build(*, l2: bool = True, **overrides: Any) -> TieredCache:
        config = CacheConfig(redis_url=url if l2 else None, key_prefix=prefix, **overrides)
        cache = TieredCache(config)
        await cache.start()
        caches.append(cache)
        return cache

    yield build
    for cache in caches:
        await cache.aclose()


class Source:
    """The system of record for a test: values by key, each write at a higher position.

    ``read(key)`` counts loads; ``read_at(key, lag)`` answers like a replica ``lag`` writes
    behind the primary, with the position it has replayed to.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[tuple[int, Any]]] = {}
        self.position = 0
        self.loads: dict[str, int] = {}

    def write(self, key: str, value: Any) -> int:
        self.position += 1
        self.history.setdefault(key, []).append((self.position, value))
        return self.position

    def loader(self, key: str) -> Callable[[], Awaitable[Any]]:
        async def load() -> Any:
            self.loads[key] = self.loads.get(key, 0) + 1
            return self.history[key][-1][1]

        return load

    def count(self, key: str) -> int:
        return self.loads.get(key, 0)
