"""A second (third ...) process for the cross-process cache tests.

``python -m tests.integration.cache.worker REDIS_URL PREFIX`` reads one command per line
on stdin and answers one JSON line on stdout. The system of record is the Redis key
``{prefix}src:{name}``; every load increments ``{prefix}loads:{name}``.

Commands: ``get NAME`` -> {"value", "l1_hits"}; ``stampede NAME CALLERS`` (waits for the key
``{prefix}go``, then CALLERS concurrent reads with a 0.2 s load) -> {"values"}; ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import redis.asyncio as aioredis

from datalayer.cache import CacheConfig, DataType, TieredCache, keys


async def main(url: str, prefix: str) -> None:
    source = aioredis.Redis.from_url(url)
    cache = TieredCache(CacheConfig(redis_url=url, key_prefix=prefix))
    await cache.start()
    loop = asyncio.get_running_loop()

    def loader(name: str, delay: float = 0.0) -> Any:
        async def load() -> Any:
            await source.incr(f"{prefix}loads:{name}")
            await asyncio.sleep(delay)
            raw = await source.get(f"{prefix}src:{name}")
            return raw.decode() if raw is not None else None

        return load

    print(json.dumps({"ready": True}), flush=True)
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        if line[0] == "get":
            value = await cache.get_or_load(keys.recipe_details(line[1]), loader(line[1]))
            hits = cache.stats.snapshot()[DataType.RECIPE_DETAILS].l1_hits
            print(json.dumps({"value": value, "l1_hits": hits}), flush=True)
        elif line[0] == "stampede":
            name, callers = line[1], int(line[2])
            await source.blpop([f"{prefix}go"])
            values = await asyncio.gather(
                *(
                    cache.get_or_load(keys.recipe_details(name), loader(name, 0.2))
                    for _ in range(callers)
                )
            )
            print(json.dumps({"values": sorted(set(values))}), flush=True)
    await cache.aclose()
    await source.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
