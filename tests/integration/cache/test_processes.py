"""Across real processes: L1 coherence on invalidation, one fill for a stampede."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
import redis.asyncio as aioredis

from datalayer.cache import PendingInvalidations, TieredCache, keys
from tests.integration.cache.processes import Worker
from tests.services import RedisHarness

MakeCache = Callable[..., Awaitable[TieredCache]]


@pytest.fixture
def workers(redis_server: RedisHarness, prefix: str) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        started.append(Worker(redis_server.url, prefix))
        return started[-1]

    yield start
    for worker in started:
        worker.close()


async def test_an_invalidation_drops_the_other_process_l1_copy_before_it_returns(
    make_cache: MakeCache,
    raw_redis: aioredis.Redis,
    prefix: str,
    workers: Callable[[], Worker],
) -> None:
    other = workers()
    await raw_redis.set(f"{prefix}src:r1", "v1")
    assert other.ask("get r1")["value"] == "v1"
    assert other.ask("get r1") == {"value": "v1", "l1_hits": 1}

    await raw_redis.set(f"{prefix}src:r1", "v2")  # the write commits ...
    pending = PendingInvalidations(await make_cache())
    pending.recipe_updated("r1", None)
    await pending.apply()  # ... and is acknowledged once this returns

    answer = await asyncio.to_thread(other.ask, "get r1")
    assert answer == {"value": "v2", "l1_hits": 1}
    assert int(await raw_redis.get(f"{prefix}loads:r1") or 0) == 2


async def test_many_callers_in_several_processes_fill_a_hot_key_once(
    raw_redis: aioredis.Redis, prefix: str, workers: Callable[[], Worker]
) -> None:
    await raw_redis.set(f"{prefix}src:hot", "value")
    processes = [workers() for _ in range(3)]
    for worker in processes:
        worker.send("stampede hot 30")
    await raw_redis.rpush(f"{prefix}go", *([1] * len(processes)))
    answers = [await asyncio.to_thread(worker.read) for worker in processes]

    assert answers == [{"values": ["value"]}] * 3
    assert int(await raw_redis.get(f"{prefix}loads:hot") or 0) == 1


@pytest.mark.parametrize("l2", [True, False], ids=["l1+l2", "l1-only"])
async def test_many_concurrent_callers_in_one_process_fill_a_hot_key_once(
    make_cache: MakeCache, l2: bool
) -> None:
    cache, loads = await make_cache(l2=l2), 0

    async def slow_load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.1)
        return "value"

    key = keys.search_results("popular")
    values = await asyncio.gather(*(cache.get_or_load(key, slow_load) for _ in range(200)))
    assert set(values) == {"value"}
    assert loads == 1
