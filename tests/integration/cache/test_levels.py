"""L1 over L2: hits per level and type, L1-only mode, switches, TTLs, the L1 byte bound."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, TypeAdapter

from datalayer.cache import TTL_SECONDS, CacheConfig, DataType, TieredCache, keys
from datalayer.errors import ConfigurationError
from datalayer.settings import load_settings
from tests.integration.cache.conftest import Source

MakeCache = Callable[..., Awaitable[TieredCache]]


async def test_l1_then_l2_hits_are_counted_per_level_and_type(make_cache: MakeCache) -> None:
    source = Source()
    source.write("p", {"name": "Ada"})
    key = keys.user_profile(uuid.uuid4())
    first, second = await make_cache(), await make_cache()

    assert await first.get_or_load(key, source.loader("p")) == {"name": "Ada"}
    assert await first.get_or_load(key, source.loader("p")) == {"name": "Ada"}
    assert await second.get_or_load(key, source.loader("p")) == {"name": "Ada"}
    assert await second.get_or_load(key, source.loader("p")) == {"name": "Ada"}

    assert source.count("p") == 1
    one, two = first.stats.snapshot()[DataType.USER_PROFILE], second.stats.snapshot()
    assert (one.misses, one.l1_hits, one.l2_hits) == (1, 1, 0)
    assert (two[DataType.USER_PROFILE].l2_hits, two[DataType.USER_PROFILE].l1_hits) == (1, 1)
    assert two[DataType.RECIPE_DETAILS].reads == 0


async def test_without_redis_l1_alone_caches_and_invalidates(make_cache: MakeCache) -> None:
    source = Source()
    source.write("r", 1)
    recipe = uuid.uuid4()
    cache = await make_cache(l2=False)
    assert not cache.has_l2

    assert await cache.get_or_load(keys.recipe_details(recipe), source.loader("r")) == 1
    assert await cache.get_or_load(keys.recipe_details(recipe), source.loader("r")) == 1
    source.write("r", 2)
    await cache.invalidate([keys.recipe_scope(recipe)])
    assert await cache.get_or_load(keys.recipe_details(recipe), source.loader("r")) == 2
    assert source.count("r") == 2


async def test_a_switched_off_type_always_loads_and_stores_nothing(
    make_cache: MakeCache, raw_redis: aioredis.Redis, prefix: str
) -> None:
    source = Source()
    source.write("s", ["a"])
    cache = await make_cache(disabled_types=frozenset({DataType.SEARCH_RESULTS}))
    key = keys.search_results("q=soup")
    for _ in range(3):
        assert await cache.get_or_load(key, source.loader("s")) == ["a"]
    assert source.count("s") == 3
    assert cache.stats.snapshot()[DataType.SEARCH_RESULTS].bypasses == 3
    assert await raw_redis.exists(f"{prefix}e:{key.name}") == 0


@pytest.mark.parametrize("data_type", list(DataType))
async def test_each_type_gets_its_ttl_with_jitter(
    make_cache: MakeCache, raw_redis: aioredis.Redis, prefix: str, data_type: DataType
) -> None:
    cache = await make_cache(ttl_jitter=0.1)
    key = keys.CacheKey(data_type, uuid.uuid4().hex, ())
    ttls = []
    for index in range(20):
        variant = keys.CacheKey(data_type, f"{key.identity}{index}", ())

        async def load() -> int:
            return 1

        await cache.get_or_load(variant, load)
        ttls.append(await raw_redis.pttl(f"{prefix}e:{variant.name}"))
    expected_ms = TTL_SECONDS[data_type] * 1000
    assert all(0.9 * expected_ms - 1000 <= ttl <= expected_ms for ttl in ttls), ttls
    assert max(ttls) - min(ttls) > 0.01 * expected_ms  # jittered, not all alike


def test_taste_profile_ttl_is_the_four_hours_of_seeds_001_and_003() -> None:
    assert TTL_SECONDS[DataType.TASTE_PROFILE] == 14400


async def test_l1_is_bounded_by_serialized_bytes(make_cache: MakeCache) -> None:
    cache = await make_cache(l2=False, l1_max_bytes=20_000)

    async def load() -> str:
        return "x" * 998  # 1,000 bytes as JSON

    for index in range(100):
        await cache.get_or_load(keys.recipe_details(f"r{index}"), load)
    assert cache.l1.size_bytes <= 20_000
    assert len(cache.l1) == 20
    found, _ = cache.l1.get(keys.recipe_details("r0").name)
    assert not found  # least recently used went first
    found, _ = cache.l1.get(keys.recipe_details("r99").name)
    assert found


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)  # cached models must be frozen

    name: str
    allergies: list[str]


async def test_typed_values_come_back_as_models_from_redis(make_cache: MakeCache) -> None:
    adapter = TypeAdapter(Profile)
    key = keys.user_profile(uuid.uuid4())

    async def load() -> Profile:
        return Profile(name="Ada", allergies=["nuts"])

    await (await make_cache()).get_or_load(key, load, adapter=adapter)
    other = await make_cache()
    value = await other.get_or_load(key, load, adapter=adapter)
    assert value == Profile(name="Ada", allergies=["nuts"])
    assert other.stats.snapshot()[DataType.USER_PROFILE].l2_hits == 1


def test_settings_switch_types_off_by_name_and_reject_unknown_names() -> None:
    config = CacheConfig.from_settings(
        load_settings(cache_disabled_types="search_results, taste_profile")
    )
    assert config.disabled_types == {DataType.SEARCH_RESULTS, DataType.TASTE_PROFILE}
    with pytest.raises(ConfigurationError, match="CACHE_DISABLED_TYPES"):
        CacheConfig.from_settings(load_settings(cache_disabled_types="recipes"))


def test_the_redis_url_never_shows_in_the_config_repr() -> None:
    config = CacheConfig.from_settings(
        load_settings(redis_url="rediss://:sentinel-token-123@cache.example:6379/0")
    )
    assert config.redis_url is not None
    assert "sentinel-token-123" not in repr(config)
