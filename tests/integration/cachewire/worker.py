"""Another process with its own DataLayer on the same database and Redis.

``python -m tests.integration.cachewire.worker DATABASE_URL REDIS_URL PREFIX`` reads one
command per line and answers one JSON line: ``user USER_ID`` -> {"username", "hits"} (hits:
cache hits of user_profile so far, both levels); ``recipe USER_ID RECIPE_ID`` ->
{"title", "hits"}; ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from datalayer.cache import DataType, TieredCache
from datalayer.db import Database
from datalayer.runtime import DataLayer
from datalayer.settings import load_settings


async def main(database_url: str, redis_url: str, prefix: str) -> None:
    settings = load_settings(database_url=database_url, database_pool_size=2)
    cache = TieredCache.from_settings(settings, redis_url=redis_url, key_prefix=prefix)
    async with DataLayer(Database.connect(database_url, settings), settings, cache=cache) as dl:
        loop = asyncio.get_running_loop()
        print(json.dumps({"ready": True}), flush=True)
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            if line[0] == "user":
                user = await dl.users.get_user_by_id(uuid.UUID(line[1]))
                answer = {"username": user.username, "hits": _hits(cache, DataType.USER_PROFILE)}
            else:
                recipe = await dl.recipes.get_recipe_by_id(uuid.UUID(line[1]), uuid.UUID(line[2]))
                answer = {"title": recipe.title, "hits": _hits(cache, DataType.RECIPE_DETAILS)}
            print(json.dumps(answer), flush=True)


def _hits(cache: TieredCache, data_type: DataType) -> int:
    counters = cache.stats.snapshot()[data_type]
    return counters.l1_hits + counters.l2_hits


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
