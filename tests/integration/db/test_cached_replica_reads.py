"""A read that hit a lagging replica never refills the cache with data older than an
invalidation: the fill carries the replica's replay position, read before the query."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from datalayer.cache import DataType, TieredCache
from datalayer.db import Database, consistency_scope
from datalayer.runtime import DataLayer
from tests import factories
from tests.integration.db.test_routing import _settings, replay_paused
from tests.services import RedisHarness, ReplicaHarness


@pytest.fixture
async def layers(
    replicated: ReplicaHarness, replicated_database: str, redis_server: RedisHarness
) -> AsyncIterator[Callable[[], Awaitable[DataLayer]]]:
    """DataLayers reading replica 0, each with its own cache, sharing one Redis prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    built: list[DataLayer] = []
    name = replicated_database.rsplit("/", 1)[1]

    async def build() -> DataLayer:
        settings = _settings(replicated_database)
        cache = TieredCache.from_settings(settings, redis_url=redis_server.url, key_prefix=prefix)
        database = Database.connect(
            replicated_database, settings, read_urls=[replicated.replica_url(0, name)]
        )
        layer = DataLayer(database, settings, cache=cache)
        await layer.start()
        built.append(layer)
        return layer

    yield build
    for layer in built:
        await layer.aclose()


async def test_a_lagging_replica_read_is_not_cached_over_a_newer_write(
    replicated: ReplicaHarness, layers: Callable[[], Awaitable[DataLayer]]
) -> None:
    writer, reader = await layers(), await layers()
    assert reader.cache is not None
    name = factories.unique("lag")
    user = await writer.users.create_user({"username": name, "email": f"{name}@example.com"})
    replicated.wait_for_replay()

    with replay_paused(replicated, 0):
        await writer.users.update_user(user.id, {"username": name + "_new"})
        with consistency_scope():
            seen = await reader.users.find_user_by_id(user.id)
    # The reader really read the paused replica (the old name) ...
    assert seen is not None and seen.username == name
    # ... and that answer was not cached over the writer's invalidation.
    assert reader.cache.stats.snapshot()[DataType.USER_PROFILE].stale_fills_rejected >= 1
    replicated.wait_for_replay()
    with consistency_scope():
        fresh = await reader.users.find_user_by_id(user.id)
    assert fresh is not None and fresh.username == name + "_new"
