"""Post-commit invalidation: queued, applied once after commit, dropped on rollback; events."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from datalayer.cache import CacheKey, PendingInvalidations, TieredCache, keys, parse_lsn
from datalayer.errors import InvalidInputError
from tests.integration.cache.conftest import Source

MakeCache = Callable[..., Awaitable[TieredCache]]


async def _cached(cache: TieredCache, source: Source, entries: dict[str, CacheKey]) -> None:
    for name, key in entries.items():
        source.write(name, f"{name}-v1")
        await cache.get_or_load(key, source.loader(name))


async def _reloaded(cache: TieredCache, source: Source, entries: dict[str, CacheKey]) -> set[str]:
    """The entries that went back to the source."""
    before = {name: source.count(name) for name in entries}
    for name, key in entries.items():
        await cache.get_or_load(key, source.loader(name))
    return {name for name in entries if source.count(name) > before[name]}


async def test_rollback_discards_and_commit_applies_once(make_cache: MakeCache) -> None:
    cache, source = await make_cache(), Source()
    user = uuid.uuid4()
    entries = {"profile": keys.user_profile(user)}
    await _cached(cache, source, entries)

    pending = PendingInvalidations(cache)
    pending.user_updated(user)
    pending.discard()  # the transaction rolled back
    await pending.apply()
    assert await _reloaded(cache, source, entries) == set()

    pending.user_updated(user)
    assert pending
    await pending.apply()  # after COMMIT
    assert not pending
    assert await _reloaded(cache, source, entries) == {"profile"}


async def test_seed_events_invalidate_exactly_the_dependent_entries(
    make_cache: MakeCache,
) -> None:
    cache, source = await make_cache(), Source()
    user, other, recipe, other_recipe = (uuid.uuid4() for _ in range(4))
    entries = {
        "profile": keys.user_profile(user),
        "recipes_all": keys.user_recipes(user),
        "recipes_page2": keys.user_recipes(user, "page=2"),
        "taste": keys.taste_profile(user),
        "details": keys.recipe_details(recipe),
        "embedding": keys.recipe_embeddings(recipe),
        "ingredients": keys.parsed_ingredients(recipe),
        "search": keys.search_results("q=soup"),
        "other_profile": keys.user_profile(other),
        "other_recipes": keys.user_recipes(other),
        "other_details": keys.recipe_details(other_recipe),
    }
    expectations = [
        (
            lambda p: p.user_updated(user),
            {"profile", "recipes_all", "recipes_page2", "taste"},
        ),
        (
            lambda p: p.recipe_updated(recipe, user),
            {
                "recipes_all",
                "recipes_page2",
                "details",
                "embedding",
                "ingredients",
                "search",
            },
        ),
        (lambda p: p.taste_profile_updated(user), {"taste"}),
    ]
    await _cached(cache, source, entries)
    for queue_event, expected in expectations:
        pending = PendingInvalidations(cache)
        queue_event(pending)
        await pending.apply()
        assert await _reloaded(cache, source, entries) == expected


async def test_all_of_a_users_lists_go_in_one_operation_without_key_scans(
    make_cache: MakeCache, raw_redis: aioredis.Redis
) -> None:
    cache, source = await make_cache(), Source()
    user = uuid.uuid4()
    lists = {f"page{index}": keys.user_recipes(user, f"page={index}") for index in range(50)}
    await _cached(cache, source, lists)
    before = await raw_redis.info("commandstats")

    pending = PendingInvalidations(cache)
    pending.recipe_updated(uuid.uuid4(), user)
    await pending.apply()

    after = await raw_redis.info("commandstats")
    calls = {
        name: after.get(name, {}).get("calls", 0) - before.get(name, {}).get("calls", 0)
        for name in ("cmdstat_evalsha", "cmdstat_keys", "cmdstat_scan", "cmdstat_del")
    }
    assert calls == {"cmdstat_evalsha": 1, "cmdstat_keys": 0, "cmdstat_scan": 0, "cmdstat_del": 0}
    assert await _reloaded(cache, source, lists) == set(lists)


def test_lsn_text_becomes_an_ordered_integer() -> None:
    assert parse_lsn("0/16B3748") == 0x16B3748
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")
    try:
        parse_lsn("not-an-lsn")
    except InvalidInputError as exc:
        assert exc.field == "position"
    else:
        raise AssertionError("expected InvalidInputError")
