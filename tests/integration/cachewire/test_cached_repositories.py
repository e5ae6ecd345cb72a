"""Cache-aside through the repositories: a second read is a cache hit, and every write that
changes an answer is seen by the next read (data type by data type)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from datalayer.cache import DataType
from datalayer.errors import NotFoundError
from datalayer.runtime import DataLayer
from datalayer.schemas.embeddings import EmbeddingIn
from tests.integration.cachewire.conftest import new_user, recipe_payload

HASH = "a" * 64
Layer = Callable[..., Awaitable[DataLayer]]


def hits(dl: DataLayer, data_type: DataType) -> int:
    assert dl.cache is not None
    counters = dl.cache.stats.snapshot()[data_type]
    return counters.l1_hits + counters.l2_hits


def vector(value: float) -> list[float]:
    return [value] + [0.0] * 1535


async def test_user_profile(make_layer: Layer) -> None:
    dl = await make_layer()
    user = await new_user(dl)
    assert await dl.users.find_user_by_id(user.id) == user
    assert await dl.users.get_user_by_id(user.id) == user
    assert hits(dl, DataType.USER_PROFILE) == 1
    renamed = await dl.users.update_user(user.id, {"username": user.username + "_2"})
    assert await dl.users.get_user_by_id(user.id) == renamed
    consented = await dl.users.update_consent(user.id, "2.0")
    assert (
        (await dl.users.get_user_by_id(user.id)).gdpr_consent_version
        == "2.0"
        == (consented.gdpr_consent_version)
    )
    await dl.users.request_data_deletion(user.id)
    assert await dl.users.find_user_by_id(user.id) is None


async def test_recipe_details_and_the_ownership_check_on_a_hit(make_layer: Layer) -> None:
    dl = await make_layer()
    owner, other = await new_user(dl), await new_user(dl)
    recipe = await dl.recipes.create_recipe(owner.id, recipe_payload("Soup"))
    assert await dl.recipes.get_recipe_by_id(owner.id, recipe.id) == recipe
    before = hits(dl, DataType.RECIPE_DETAILS)
    with pytest.raises(NotFoundError, match="recipe not found"):
        await dl.recipes.get_recipe_by_id(other.id, recipe.id)
    assert await dl.recipes.find_recipe_by_id(other.id, recipe.id) is None
    assert hits(dl, DataType.RECIPE_DETAILS) == before + 2  # answered from the cache
    updated = await dl.recipes.update_recipe(owner.id, recipe.id, {"title": "Stew"})
    assert (await dl.recipes.get_recipe_by_id(owner.id, recipe.id)).title == "Stew"
    done = await dl.recipes.update_ai_processing_status(recipe.id, "completed")
    assert done.ai_status != updated.ai_status
    assert (await dl.recipes.get_recipe_by_id(owner.id, recipe.id)).ai_status == done.ai_status
    await dl.recipes.delete_recipe(owner.id, recipe.id)
    assert await dl.recipes.find_recipe_by_id(owner.id, recipe.id) is None


async def test_user_recipes_and_search_results(make_layer: Layer) -> None:
    dl = await make_layer()
    owner = await new_user(dl)
    first = await dl.recipes.create_recipe(owner.id, recipe_payload("Tomato soup"))
    assert (await dl.recipes.get_user_recipes(owner.id)).total == 1
    assert (await dl.recipes.get_user_recipes(owner.id)).total == 1
    assert (await dl.recipes.search_recipes(owner.id, "tomato")).total == 1
    assert (await dl.recipes.search_recipes(owner.id, "tomato")).total == 1
    assert hits(dl, DataType.USER_RECIPES) == 1
    assert hits(dl, DataType.SEARCH_RESULTS) == 1
    other_page = await dl.recipes.get_user_recipes(owner.id, limit=1, sort="title")
    assert hits(dl, DataType.USER_RECIPES) == 1  # another variant: its own entry
    assert other_page.items == [first]

    await dl.recipes.create_recipe(owner.id, recipe_payload("Tomato salad"))
    assert (await dl.recipes.get_user_recipes(owner.id)).total == 2
    assert (await dl.recipes.search_recipes(owner.id, "tomato")).total == 2
    await dl.recipes.update_recipe(owner.id, first.id, {"title": "Leek soup", "description": "x"})
    titles = [r.title for r in (await dl.recipes.get_user_recipes(owner.id, sort="title")).items]
    assert titles == ["Leek soup", "Tomato salad"]
    assert (await dl.recipes.search_recipes(owner.id, "tomato")).total == 1
    await dl.recipes.delete_recipe(owner.id, first.id)
    assert (await dl.recipes.get_user_recipes(owner.id)).total == 1


async def test_taste_profile(make_layer: Layer) -> None:
    dl = await make_layer()
    owner = await new_user(dl)
    assert await dl.taste_profiles.find_taste_profile(owner.id) is None
    await dl.taste_profiles.create_taste_profile(owner.id)
    created = await dl.taste_profiles.get_taste_profile(owner.id)
    assert await dl.taste_profiles.get_taste_profile(owner.id) == created
    assert hits(dl, DataType.TASTE_PROFILE) == 1
    await dl.taste_profiles.update_taste_profile(owner.id, {"dietary_restrictions": ["vegan"]})
    assert (await dl.taste_profiles.get_taste_profile(owner.id)).dietary_restrictions == ["vegan"]
    calculated = await dl.taste_profiles.calculate_taste_profile(owner.id)
    assert not calculated.is_stale
    assert await dl.taste_profiles.get_taste_profile(owner.id) == calculated
    await dl.recipes.create_recipe(owner.id, recipe_payload("Soup"))  # marks it stale
    assert (await dl.taste_profiles.get_taste_profile(owner.id)).is_stale
    await dl.taste_profiles.delete_taste_profile(owner.id)
    assert await dl.taste_profiles.find_taste_profile(owner.id) is None


async def test_parsed_ingredients_with_the_ownership_check_on_a_hit(make_layer: Layer) -> None:
    dl = await make_layer()
    owner, other = await new_user(dl), await new_user(dl)
    recipe = await dl.recipes.create_recipe(owner.id, recipe_payload("Soup"))
    assert await dl.ingredients.get_recipe_ingredients(owner.id, recipe.id) == []
    await dl.ingredients.store_parsed_ingredients(owner.id, recipe.id, [{"name": "Leek"}])
    lines = await dl.ingredients.get_recipe_ingredients(owner.id, recipe.id)
    assert [line.name for line in lines] == ["Leek"]
    before = hits(dl, DataType.PARSED_INGREDIENTS)
    with pytest.raises(NotFoundError, match="recipe not found"):
        await dl.ingredients.get_recipe_ingredients(other.id, recipe.id)
    assert hits(dl, DataType.PARSED_INGREDIENTS) == before + 1
    await dl.ingredients.update_parsed_ingredients(owner.id, recipe.id, [{"name": "Salt"}])
    lines = await dl.ingredients.get_recipe_ingredients(owner.id, recipe.id)
    assert [line.name for line in lines] == ["Salt"]
    await dl.ingredients.delete_recipe_ingredients(owner.id, recipe.id)
    assert await dl.ingredients.get_recipe_ingredients(owner.id, recipe.id) == []


async def test_recipe_embeddings(make_layer: Layer) -> None:
    dl = await make_layer()
    owner = await new_user(dl)
    recipe = await dl.recipes.create_recipe(owner.id, recipe_payload("Soup"))
    assert await dl.embeddings.find_embedding(recipe.id) is None
    await dl.embeddings.store_embedding(recipe.id, vector(1.0), "m", "1", HASH)
    stored = await dl.embeddings.get_embedding(recipe.id)
    assert await dl.embeddings.get_embedding(recipe.id) == stored
    assert hits(dl, DataType.RECIPE_EMBEDDINGS) == 1
    await dl.embeddings.update_embedding(recipe.id, vector(0.5), HASH)
    assert (await dl.embeddings.get_embedding(recipe.id)).embedding[0] == 0.5
    await dl.embeddings.delete_embedding(recipe.id)
    assert await dl.embeddings.find_embedding(recipe.id) is None
    row = EmbeddingIn(
        recipe_id=recipe.id,
        user_id=owner.id,
        embedding=vector(0.25),
        model="m",
        model_version="1",
        source_text_hash=HASH,
    )
    assert (await dl.embeddings.bulk_load([row])).rows == 1
    assert (await dl.embeddings.get_embedding(recipe.id)).embedding[0] == 0.25


async def test_a_disabled_type_is_never_cached(make_layer: Layer) -> None:
    dl = await make_layer(disabled_types=frozenset({DataType.USER_PROFILE}))
    user = await new_user(dl)
    for _ in range(3):
        assert await dl.users.get_user_by_id(user.id) == user
    assert dl.cache is not None
    counters = dl.cache.stats.snapshot()[DataType.USER_PROFILE]
    assert (counters.l1_hits, counters.l2_hits, counters.bypasses) == (0, 0, 3)
