"""GDPR erasure leaves nothing of the user in L1 or in Redis (L2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from datalayer.gdpr.erasure import erase_user
from datalayer.runtime import DataLayer
from datalayer.settings import Settings
from tests.integration.cachewire.conftest import new_user, recipe_payload
from tests.services import RedisHarness


async def test_erasure_purges_the_user_from_both_levels(
    make_layer: Callable[..., Awaitable[DataLayer]],
    settings: Settings,
    redis_server: RedisHarness,
    prefix: str,
) -> None:
    # Patient Redis timings: on a loaded machine a 100 ms timeout or heartbeat would let a
    # fill skip L2 (the cache degrades by design), and the precondition below needs them all.
    dl = await make_layer(redis_timeout_s=2.0, heartbeat_s=1.0)
    assert dl.cache is not None
    user, bystander = await new_user(dl), await new_user(dl)
    recipe = await dl.recipes.create_recipe(user.id, recipe_payload("Soup"))
    kept = await dl.recipes.create_recipe(bystander.id, recipe_payload("Stew"))
    await dl.taste_profiles.calculate_taste_profile(user.id)
    await dl.taste_profiles.calculate_taste_profile(bystander.id)
    await dl.ingredients.store_parsed_ingredients(user.id, recipe.id, [{"name": "Leek"}])
    for owner, owned in ((user, recipe), (bystander, kept)):
        assert await dl.warm_user(owner.id) == 3
        await dl.recipes.get_user_recipes(owner.id, limit=5, sort="title")
        await dl.recipes.get_recipe_by_id(owner.id, owned.id)
        await dl.recipes.search_recipes(owner.id, "soup")
        await dl.ingredients.get_recipe_ingredients(owner.id, owned.id)
        await dl.embeddings.find_embedding(owned.id)
    marks = (str(user.id), str(recipe.id))

    client = aioredis.Redis.from_url(redis_server.url)
    try:

        async def in_redis() -> list[bytes]:
            found = []
            async for name in client.scan_iter(match=f"{prefix}e:*"):
                value = await client.get(name) or b""
                if any(mark.encode() in name + value for mark in marks):
                    found.append(name)
            return found

        assert len(await in_redis()) >= 8, "the workload did not fill L2"
        assert any(mark in name for name in dl.cache.l1._entries for mark in marks)

        await erase_user(dl.database, user.id, settings.audit_hash_key.get_secret_value())

        assert [n for n in dl.cache.l1._entries if any(m in n for m in marks)] == []
        assert await in_redis() == []
    finally:
        await client.aclose()
    assert str(bystander.id) in "".join(dl.cache.l1._entries)  # others' entries stay
    assert await dl.users.find_user_by_id(user.id) is None
    assert await dl.recipes.find_recipe_by_id(user.id, recipe.id) is None
    assert await dl.taste_profiles.find_taste_profile(user.id) is None
