"""The composition root builds, starts and closes the cache; explicit warming."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from datalayer.cache import DataType
from datalayer.runtime import DataLayer
from datalayer.settings import Settings
from tests.integration.cachewire.conftest import new_user, recipe_payload


async def test_from_settings_without_redis_is_l1_only(settings: Settings) -> None:
    assert settings.redis_url is None
    async with DataLayer.from_settings(settings) as dl:
        assert dl.cache is not None and not dl.cache.has_l2
        assert dl.database.cache is dl.cache
        user = await new_user(dl)
        for _ in range(3):
            assert await dl.users.get_user_by_id(user.id) == user
        assert dl.cache.stats.snapshot()[DataType.USER_PROFILE].l1_hits == 2


async def test_warm_user_loads_profile_recent_recipes_and_taste_profile(
    make_layer: Callable[..., Awaitable[DataLayer]],
) -> None:
    writer, warmed = await make_layer(), await make_layer()
    assert warmed.cache is not None
    user = await new_user(writer)
    await writer.recipes.create_recipe(user.id, recipe_payload("Soup"))
    await writer.taste_profiles.calculate_taste_profile(user.id)

    assert await warmed.warm_user(user.id) == 3
    before = warmed.cache.stats.totals()
    await warmed.users.get_user_by_id(user.id)
    await warmed.recipes.get_user_recipes(user.id)
    await warmed.taste_profiles.get_taste_profile(user.id)
    after = warmed.cache.stats.totals()
    assert (after.l1_hits - before.l1_hits, after.misses - before.misses) == (3, 0)
