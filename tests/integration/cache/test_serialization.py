"""Nothing unsafe from Redis: a pickled payload planted under a valid tag is never unpickled."""

from __future__ import annotations

import os
import pickle
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
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


async def test_values_come_back_from_l2_exactly_and_read_only(make_cache: MakeCache) -> None:
    """The fast parser would turn an integer beyond 64 bits into a float: never silently."""
    value = {"id": 2**70, "small": [2**64 - 1, -(2**63), 1.5, None, True], "nested": {"x": []}}

    async def load() -> dict[str, object]:
        return value

    key = keys.recipe_details("wide")
    await (await make_cache()).get_or_load(key, load)
    other = await make_cache()
    cached = await other.get_or_load(key, load)
    assert other.stats.snapshot()[DataType.RECIPE_DETAILS].l2_hits == 1
    assert cached == value
    assert type(cached["id"]) is int and type(cached["small"][0]) is int
    for container in (cached, cached["small"], cached["nested"]["x"]):
        with pytest.raises(TypeError, match="read-only"):
            container.clear()
