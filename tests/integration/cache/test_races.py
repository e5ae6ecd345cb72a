"""No stale reads: fills racing invalidations lose, lagging-replica reads are not cached.

Each race is interleaved deterministically with events: the loader reads the source, then
blocks until the test has applied the write and its invalidation, then returns what it read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from datalayer.cache import DataType, Loaded, PendingInvalidations, TieredCache, keys
from tests.integration.cache.conftest import Source

MakeCache = Callable[..., Awaitable[TieredCache]]


class BlockedLoad:
    """A load that reads the source, then waits for ``release`` before returning."""

    def __init__(self, source: Source, name: str) -> None:
        self.source, self.name = source, name
        self.has_read, self.release = asyncio.Event(), asyncio.Event()

    async def __call__(self) -> Any:
        value = await self.source.loader(self.name)()
        self.has_read.set()
        await self.release.wait()
        return value


@pytest.mark.parametrize("l2", [True, False], ids=["l1+l2", "l1-only"])
async def test_a_fill_racing_an_invalidation_loses(make_cache: MakeCache, l2: bool) -> None:
    writer, reader = await make_cache(l2=l2), None
    reader = await make_cache(l2=l2) if l2 else writer
    source, user = Source(), uuid.uuid4()
    source.write("profile", "old")
    key = keys.user_profile(user)
    slow = BlockedLoad(source, "profile")

    racing_read = asyncio.create_task(reader.get_or_load(key, slow))
    await slow.has_read.wait()  # the reader has the old value in hand
    source.write("profile", "new")
    pending = PendingInvalidations(writer)
    pending.user_updated(user)
    await pending.apply()  # the write is acknowledged here
    slow.release.set()
    assert await racing_read == "old"  # began before the write: may see the old value

    for cache in {id(writer): writer, id(reader): reader}.values():
        assert await cache.get_or_load(key, source.loader("profile")) == "new"
    assert reader.stats.snapshot()[DataType.USER_PROFILE].stale_fills_rejected == 1


@pytest.mark.parametrize("l2", [True, False], ids=["l1+l2", "l1-only"])
async def test_a_lagging_replica_read_never_refills_over_an_invalidation(
    make_cache: MakeCache, l2: bool
) -> None:
    cache, source = await make_cache(l2=l2), Source()
    recipe = uuid.uuid4()
    key = keys.recipe_details(recipe)
    old_position = source.write("recipe", "old")
    commit_position = source.write("recipe", "new")
    pending = PendingInvalidations(cache)
    pending.recipe_updated(recipe, None)
    pending.at_position(commit_position)
    await pending.apply()
    replica_loads = 0

    async def lagging_replica() -> Loaded[str]:
        nonlocal replica_loads
        replica_loads += 1
        return Loaded("old", position=old_position)  # has not replayed the commit yet

    async def caught_up_replica() -> Loaded[str]:
        return Loaded("new", position=commit_position)

    assert await cache.get_or_load_at(key, lagging_replica) == "old"
    assert await cache.get_or_load_at(key, lagging_replica) == "old"
    assert replica_loads == 2  # never cached
    assert await cache.get_or_load_at(key, caught_up_replica) == "new"
    assert await cache.get_or_load_at(key, lagging_replica) == "new"  # served from cache
    assert replica_loads == 2


async def test_a_caller_arriving_after_an_invalidation_does_not_join_an_older_load(
    make_cache: MakeCache,
) -> None:
    cache, source, user = await make_cache(), Source(), uuid.uuid4()
    source.write("taste", "old")
    key = keys.taste_profile(user)
    slow = BlockedLoad(source, "taste")
    first = asyncio.create_task(cache.get_or_load(key, slow))
    await slow.has_read.wait()

    source.write("taste", "new")
    pending = PendingInvalidations(cache)
    pending.taste_profile_updated(user)
    await pending.apply()
    late = await cache.get_or_load(key, source.loader("taste"))
    slow.release.set()

    assert late == "new"
    assert await first == "old"
    assert await cache.get_or_load(key, source.loader("taste")) == "new"


async def test_a_write_is_visible_to_every_cache_once_acknowledged(make_cache: MakeCache) -> None:
    caches = [await make_cache() for _ in range(3)]
    source, recipe = Source(), uuid.uuid4()
    key = keys.recipe_details(recipe)
    for version in range(5):
        source.write("recipe", version)
        pending = PendingInvalidations(caches[version % 3])
        pending.recipe_updated(recipe, None)
        await pending.apply()
        for cache in caches:
            for _ in range(2):  # the second read is an L1 or L2 hit
                assert await cache.get_or_load(key, source.loader("recipe")) == version
