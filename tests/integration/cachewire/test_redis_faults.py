"""Redis killed in the middle of a repository workload: every read is still answered
(from PostgreSQL), and the cache is used again once Redis is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from datalayer.cache import DataType
from datalayer.runtime import DataLayer
from tests.integration.cache.test_faults import OwnRedis
from tests.integration.cachewire.conftest import new_user, recipe_payload

READS_PER_PHASE = 150


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    yield server
    server.close()


async def test_redis_killed_mid_workload_fails_no_repository_read(
    make_layer: Callable[..., Awaitable[DataLayer]], own_redis: OwnRedis
) -> None:
    dl = await make_layer(redis_url=own_redis.url)
    assert dl.cache is not None
    user = await new_user(dl)
    recipe = await dl.recipes.create_recipe(user.id, recipe_payload("Soup"))
    failures: list[BaseException] = []
    latencies: list[float] = []

    async def phase(reads: int) -> None:
        for index in range(reads):
            started = time.perf_counter()
            try:
                if index % 2:
                    assert (await dl.users.get_user_by_id(user.id)).id == user.id
                else:
                    assert (await dl.recipes.get_recipe_by_id(user.id, recipe.id)).id == recipe.id
            except Exception as exc:
                failures.append(exc)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0)

    await phase(READS_PER_PHASE)
    own_redis.kill()
    await phase(READS_PER_PHASE)
    # A write while Redis is down must not be lost by the cache either.
    await dl.users.update_user(user.id, {"username": user.username + "_down"})
    await phase(READS_PER_PHASE)
    errors_while_down = dl.cache.stats.totals().errors
    own_redis.start()
    deadline = time.monotonic() + 20

    def cache_hits() -> int:
        assert dl.cache is not None
        totals = dl.cache.stats.totals()
        return totals.l1_hits + totals.l2_hits

    # While Redis is unreachable neither level answers (L1 alone could miss another
    # process's invalidation), so a hit means the cache is back in use.
    hits_before = cache_hits()
    while cache_hits() == hits_before:
        assert time.monotonic() < deadline, "the cache never used Redis again"
        await phase(20)
        await asyncio.sleep(0.05)
    assert failures == []
    assert errors_while_down > 0, "Redis was never really down during the workload"
    assert (await dl.users.get_user_by_id(user.id)).username == user.username + "_down"
    counters = dl.cache.stats.snapshot()[DataType.USER_PROFILE]
    latencies.sort()
    print(
        f"\nreads={len(latencies)} failed={len(failures)} "
        f"p99_ms={latencies[int(len(latencies) * 0.99)] * 1000:.1f} "
        f"user_profile={counters}"
    )
