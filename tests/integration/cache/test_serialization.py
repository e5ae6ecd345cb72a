"""Nothing unsafe from Redis: a pickled payload planted under a valid tag is never unpickled."""

from __future__ import annotations

import os
import pickle
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis

from datalayer.cache import DataType, TieredCache, keys

MakeCache = Callable[..., Awaitable[TieredCache]]


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


async def test_a_planted_pickle_is_a_miss_and_never_runs(
    make_cache: MakeCache, raw_redis: aioredis.Redis, prefix: str, tmp_path: Path
) -> None:
    cache = await make_cache()
    key = keys.recipe_details("planted")
    tag, _, _ = await cache._store.read(key.name, key.all_scopes)  # type: ignore[union-attr]
    marker = tmp_path / "unpickled"
    await raw_redis.set(
        f"{prefix}e:{key.name}", tag.encode() + b"|" + pickle.dumps(_Exploit(marker))
    )

    async def load() -> dict[str, str]:
        return {"title": "from the database"}

    assert await cache.get_or_load(key, load) == {"title": "from the database"}
    assert not marker.exists()
    counters = cache.stats.snapshot()[DataType.RECIPE_DETAILS]
    assert (counters.errors, counters.misses, counters.l2_hits) == (1, 1, 0)
    stored = await raw_redis.get(f"{prefix}e:{key.name}")
    assert stored is not None and stored.endswith(b'{"title":"from the database"}')
