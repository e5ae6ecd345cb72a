"""Ownership matrix: user B acting on user A's recipe data gets not-found, sees nothing of
A's, and no row changes anywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from datalayer.db import Database
from datalayer.errors import NotFoundError
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user
from tests.integration.repositories.support import snapshot


@pytest.fixture
async def world(repos: Repos) -> dict[str, Any]:
    alice, bob = await new_user(repos), await new_user(repos)
    recipe = await repos.recipes.create_recipe(
        alice.id, {"title": "Secret saffron risotto", "description": "family recipe"}
    )
    await repos.ingredients.store_parsed_ingredients(alice.id, recipe.id, [{"name": "Saffron"}])
    await repos.embeddings.store_embedding(
        recipe.id, factories.embedding_vector(), "m", "1", factories.sha256("s")
    )
    await repos.profiles.calculate_taste_profile(alice.id)
    await repos.profiles.calculate_taste_profile(bob.id)
    return {"alice": alice.id, "bob": bob.id, "recipe": recipe.id}


def denied_calls(repos: Repos, w: dict[str, Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    bob, recipe = w["bob"], w["recipe"]
    return {
        "recipes.get_recipe_by_id": lambda: repos.recipes.get_recipe_by_id(bob, recipe),
        "recipes.update_recipe": lambda: repos.recipes.update_recipe(bob, recipe, {"title": "x"}),
        "recipes.delete_recipe": lambda: repos.recipes.delete_recipe(bob, recipe),
        "ingredients.store": lambda: repos.ingredients.store_parsed_ingredients(
            bob, recipe, [{"name": "Salt"}]
        ),
        "ingredients.update": lambda: repos.ingredients.update_parsed_ingredients(
            bob, recipe, [{"name": "Salt"}]
        ),
        "ingredients.get": lambda: repos.ingredients.get_recipe_ingredients(bob, recipe),
        "ingredients.delete": lambda: repos.ingredients.delete_recipe_ingredients(bob, recipe),
    }


@pytest.mark.parametrize(
    "method",
    [
        "recipes.get_recipe_by_id",
        "recipes.update_recipe",
        "recipes.delete_recipe",
        "ingredients.store",
        "ingredients.update",
        "ingredients.get",
        "ingredients.delete",
    ],
)
async def test_foreign_recipe_is_not_found_and_unchanged(
    repos: Repos, db: Database, world: dict[str, Any], method: str
) -> None:
    before = await snapshot(db)
    with pytest.raises(NotFoundError) as caught:
        await denied_calls(repos, world)[method]()
    assert str(caught.value) == "recipe not found"  # same as a recipe that does not exist
    assert await snapshot(db) == before


async def test_reads_and_searches_show_nothing_of_another_user(
    repos: Repos, db: Database, world: dict[str, Any]
) -> None:
    bob, recipe = world["bob"], world["recipe"]
    before = await snapshot(db)
    assert await repos.recipes.find_recipe_by_id(bob, recipe) is None
    assert await repos.recipes.find_recipes_by_ids(bob, [recipe]) == []
    assert (await repos.recipes.get_user_recipes(bob)).total == 0
    assert (await repos.recipes.search_recipes(bob, "saffron")).total == 0
    assert await repos.ingredients.search_by_ingredient(bob, "saffron") == []
    assert (await repos.ingredients.get_ingredient_statistics(bob)).recipe_count == 0
    scoped = await repos.embeddings.similarity_search(
        factories.embedding_vector(), user_id=bob, distance_threshold=2.0
    )
    assert scoped == []
    profile = await repos.profiles.get_taste_profile(bob)
    assert profile.favorite_ingredients == []
    assert await snapshot(db) == before
    # The owner still sees everything.
    assert (await repos.recipes.search_recipes(world["alice"], "saffron")).total == 1


async def test_a_missing_recipe_reads_the_same_as_a_foreign_one(
    repos: Repos, world: dict[str, Any]
) -> None:
    import uuid

    with pytest.raises(NotFoundError) as missing:
        await repos.recipes.delete_recipe(world["bob"], uuid.uuid4())
    with pytest.raises(NotFoundError) as foreign:
        await repos.recipes.delete_recipe(world["bob"], world["recipe"])
    assert str(missing.value) == str(foreign.value)
