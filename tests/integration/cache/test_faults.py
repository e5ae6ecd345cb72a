"""Redis killed, stopped (SIGSTOP) or paused (CLIENT PAUSE) under load: no failed read, no
stale read, and the cache is used again once Redis is back. Each test owns its redis-server.

Latencies are printed (``-s``) for the report, never asserted.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis

from datalayer.cache import CacheConfig, DataType, PendingInvalidations, TieredCache, keys
from datalayer.local.postgres import free_port
from tests.integration.cache.conftest import Source
from tests.services import _wait_for_port


class OwnRedis:
    """A redis-server this test may kill, stop and restart on the same port."""

    def __init__(self, root: Path) -> None:
        self.port, self.root = free_port(), root
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.root), "--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop_process(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def continue_process(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.continue_process()
        self.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    yield server
    server.close()


@pytest.fixture
async def caches(own_redis: OwnRedis) -> AsyncIterator[Callable[[], Awaitable[TieredCache]]]:
    built: list[TieredCache] = []

    async def build() -> TieredCache:
        built.append(TieredCache(CacheConfig(redis_url=own_redis.url)))
        await built[-1].start()
        return built[-1]

    yield build
    for cache in built:
        await cache.aclose()


class Workload:
    """Concurrent reads of 50 recipes (1 ms loads); counts failures and wrong values."""

    def __init__(self, cache: TieredCache, source: Source) -> None:
        self.cache, self.source = cache, source
        self.failures = self.wrong = 0
        self.latencies: list[tuple[float, float]] = []  # (start, seconds)
        for index in range(50):
            source.write(f"r{index}", index)

    async def _load(self, name: str) -> int:
        value: int = await self.source.loader(name)()
        await asyncio.sleep(0.001)
        return value

    async def _reader(self, until: float, rng: random.Random) -> None:
        while time.monotonic() < until:
            name = f"r{min(int(rng.paretovariate(1.2)) - 1, 49)}"
            start = time.monotonic()
            try:
                value = await self.cache.get_or_load(
                    keys.recipe_details(name), lambda n=name: self._load(n)
                )
            except Exception:
                self.failures += 1
                continue
            self.latencies.append((start, time.monotonic() - start))
            if value != self.source.history[name][-1][1]:
                self.wrong += 1
            await asyncio.sleep(0.0005)

    async def run(self, seconds: float, fault: Callable[[], Awaitable[None]]) -> None:
        until = time.monotonic() + seconds
        readers = [self._reader(until, random.Random(seed)) for seed in range(8)]
        await asyncio.gather(fault(), *readers)

    def p99_ms(self, start: float, end: float) -> float:
        window = [seconds for began, seconds in self.latencies if start <= began < end]
        return round(float(np.percentile(window, 99)) * 1000, 2) if window else float("nan")


async def _back_in_use(cache: TieredCache, fresh: TieredCache) -> None:
    """Both levels answer again: L1 hits in the cache, an L2 hit in a new one."""
    key = keys.recipe_details("after-recovery")
    fills = 0

    async def load() -> str:
        nonlocal fills
        fills += 1
        return "fresh"

    deadline = time.monotonic() + 10
    while fills < 100 and time.monotonic() < deadline:
        before = cache.stats.snapshot()[DataType.RECIPE_DETAILS].l1_hits
        await cache.get_or_load(key, load)
        if cache.stats.snapshot()[DataType.RECIPE_DETAILS].l1_hits > before:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the cache did not come back into use")
    assert await fresh.get_or_load(key, load) == "fresh"
    assert fresh.stats.snapshot()[DataType.RECIPE_DETAILS].l2_hits == 1


async def _run_with_fault(
    cache: TieredCache, inject: Callable[[], None], restore: Callable[[], None]
) -> Workload:
    workload = Workload(cache, Source())
    marks: dict[str, float] = {}

    async def fault() -> None:
        await asyncio.sleep(0.5)
        marks["start"] = time.monotonic()
        inject()
        await asyncio.sleep(1.0)
        restore()
        marks["end"] = time.monotonic()

    began = time.monotonic()
    await workload.run(2.5, fault)
    print(
        f"\np99 before fault {workload.p99_ms(began, marks['start'])} ms, "
        f"during {workload.p99_ms(marks['start'], marks['end'])} ms, "
        f"after {workload.p99_ms(marks['end'], time.monotonic())} ms; "
        f"breaker trips {cache.breaker.trips}"
    )
    return workload


async def test_reads_survive_redis_stopped_with_sigstop(
    own_redis: OwnRedis, caches: Callable[[], Awaitable[TieredCache]]
) -> None:
    cache = await caches()
    workload = await _run_with_fault(cache, own_redis.stop_process, own_redis.continue_process)
    assert (workload.failures, workload.wrong) == (0, 0)
    assert cache.breaker.trips >= 1
    await _back_in_use(cache, await caches())


async def test_reads_survive_redis_killed_and_restarted(
    own_redis: OwnRedis, caches: Callable[[], Awaitable[TieredCache]]
) -> None:
    cache = await caches()
    workload = await _run_with_fault(cache, own_redis.kill, own_redis.start)
    assert (workload.failures, workload.wrong) == (0, 0)
    await _back_in_use(cache, await caches())


async def test_reads_survive_client_pause(
    own_redis: OwnRedis, caches: Callable[[], Awaitable[TieredCache]]
) -> None:
    admin = aioredis.Redis.from_url(own_redis.url)
    cache = await caches()

    def pause() -> None:
        asyncio.get_running_loop().create_task(admin.execute_command("CLIENT", "PAUSE", 1000))

    workload = await _run_with_fault(cache, pause, lambda: None)
    assert (workload.failures, workload.wrong) == (0, 0)
    await _back_in_use(cache, await caches())
    await admin.aclose()


async def test_a_write_during_an_outage_is_never_read_stale(
    own_redis: OwnRedis, caches: Callable[[], Awaitable[TieredCache]]
) -> None:
    writer = TieredCache(CacheConfig(redis_url=own_redis.url, retry_undelivered_s=3.0))
    await writer.start()
    reader, idle_reader, source = await caches(), await caches(), Source()
    recipe = "r-outage"
    key = keys.recipe_details(recipe)
    source.write(recipe, "v1")
    for cache in (reader, idle_reader):
        for _ in range(2):  # now in L1 and L2
            assert await cache.get_or_load(key, source.loader(recipe)) == "v1"

    own_redis.stop_process()
    try:
        source.write(recipe, "v2")
        pending = PendingInvalidations(writer)
        pending.recipe_updated(recipe, None)
        await pending.apply()  # cannot reach Redis: queued, waits out the outage bound
        assert await reader.get_or_load(key, source.loader(recipe)) == "v2"
    finally:
        own_redis.continue_process()
    # Redis is back but still holds v1 under its old version: the writer retries its
    # invalidation only in 3 s. The idle reader (no command failed, so its breaker is
    # closed) lost its subscription, so it fences Redis before reading it again.
    await asyncio.wait_for(idle_reader._subscriber.connected.wait(), timeout=10)  # type: ignore[union-attr]
    for cache in (reader, idle_reader, writer):
        for _ in range(3):
            assert await cache.get_or_load(key, source.loader(recipe)) == "v2"
    await asyncio.wait_for(writer.delivery.delivered.wait(), timeout=10)
    assert await (await caches()).get_or_load(key, source.loader(recipe)) == "v2"
    await writer.aclose()
