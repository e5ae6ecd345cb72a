"""IngredientRepository and TasteProfileRepository against a real database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datalayer.errors import ConflictError, InvalidInputError, NotFoundError
from tests.integration.repositories.conftest import Repos, new_user


async def test_store_replace_and_delete_ingredients(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Salad"})
    ids = await repos.ingredients.store_parsed_ingredients(
        owner.id,
        recipe.id,
        [{"name": "Cherry  Tomatoes", "quantity": "250", "unit": "g"}, {"name": "Basil"}],
    )
    more = await repos.ingredients.store_parsed_ingredients(owner.id, recipe.id, [{"name": "Salt"}])
    lines = await repos.ingredients.get_recipe_ingredients(owner.id, recipe.id)
    assert [line.id for line in lines] == [*ids, *more]
    assert [(line.position, line.normalized_name) for line in lines] == [
        (0, "cherry tomatoes"),
        (1, "basil"),
        (2, "salt"),
    ]
    assert lines[0].quantity == Decimal("250.000")

    replaced = await repos.ingredients.update_parsed_ingredients(
        owner.id, recipe.id, [{"name": "Feta"}]
    )
    assert [line.name for line in replaced] == ["Feta"]
    assert replaced == await repos.ingredients.get_recipe_ingredients(owner.id, recipe.id)
    with pytest.raises(InvalidInputError, match="nothing to update"):
        await repos.ingredients.update_parsed_ingredients(owner.id, recipe.id, [])
    assert await repos.ingredients.delete_recipe_ingredients(owner.id, recipe.id) is None
    assert await repos.ingredients.get_recipe_ingredients(owner.id, recipe.id) == []
    await repos.ingredients.delete_recipe_ingredients(owner.id, recipe.id)  # none left: fine


async def test_a_bad_line_stores_nothing(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Salad"})
    with pytest.raises(InvalidInputError, match="quantity"):
        await repos.ingredients.store_parsed_ingredients(
            owner.id, recipe.id, [{"name": "Oil"}, {"name": "Salt", "quantity": "-1"}]
        )
    assert await repos.ingredients.get_recipe_ingredients(owner.id, recipe.id) == []


async def test_search_by_ingredient_and_statistics(repos: Repos) -> None:
    owner, other = await new_user(repos), await new_user(repos)
    soup = await repos.recipes.create_recipe(owner.id, {"title": "Soup"})
    pasta = await repos.recipes.create_recipe(owner.id, {"title": "Pasta"})
    theirs = await repos.recipes.create_recipe(other.id, {"title": "Their pasta"})
    await repos.ingredients.store_parsed_ingredients(
        owner.id, soup.id, [{"name": "Tomato"}, {"name": "Onion"}]
    )
    await repos.ingredients.store_parsed_ingredients(
        owner.id, pasta.id, [{"name": "tomato "}, {"name": "Garlic"}]
    )
    await repos.ingredients.store_parsed_ingredients(other.id, theirs.id, [{"name": "Tomato"}])

    matches = await repos.ingredients.search_by_ingredient(owner.id, "TOMATO")
    assert [m.title for m in matches] == ["Pasta", "Soup"]
    stats = await repos.ingredients.get_ingredient_statistics(owner.id)
    assert (stats.recipe_count, stats.distinct_ingredients, stats.total_ingredient_lines) == (
        2,
        3,
        4,
    )
    assert stats.top_ingredients[0].name == "tomato" and stats.top_ingredients[0].recipes == 2


async def test_taste_profile_lifecycle(repos: Repos) -> None:
    owner = await new_user(repos)
    profile = await repos.profiles.create_taste_profile(owner.id)
    assert profile.recipe_count == 0 and profile.is_stale
    with pytest.raises(ConflictError):
        await repos.profiles.create_taste_profile(owner.id)

    updated = await repos.profiles.update_taste_profile(
        owner.id, {"dietary_restrictions": ["vegetarian"]}
    )
    assert updated.dietary_restrictions == ["vegetarian"]

    for title, cuisine, difficulty, minutes in [
        ("Pad thai", "thai", 3, 25),
        ("Green curry", "thai", 4, 45),
        ("Pizza", "italian", 2, 90),
    ]:
        recipe = await repos.recipes.create_recipe(
            owner.id,
            {
                "title": title,
                "cuisine_type": cuisine,
                "difficulty": difficulty,
                "cooking_time_minutes": minutes,
            },
        )
        await repos.ingredients.store_parsed_ingredients(
            owner.id, recipe.id, [{"name": "Garlic"}, {"name": title.split()[0]}]
        )
    assert owner.id in await repos.profiles.get_profiles_for_refresh()

    calculated = await repos.profiles.calculate_taste_profile(owner.id)
    assert calculated.recipe_count == 3 and not calculated.is_stale
    assert calculated.favorite_ingredients[0].model_dump() == {"name": "garlic", "recipes": 3}
    assert calculated.cuisine_preferences == pytest.approx({"thai": 0.6667, "italian": 0.3333})
    assert calculated.difficulty_distribution == {"2": 1, "3": 1, "4": 1}
    assert calculated.cooking_time_distribution == {"16_to_30": 1, "31_to_60": 1, "over_60": 1}
    assert calculated.dietary_restrictions == ["vegetarian"]
    assert owner.id not in await repos.profiles.get_profiles_for_refresh()

    await repos.recipes.create_recipe(owner.id, {"title": "Another"})
    assert await repos.profiles.get_profiles_for_refresh() == [owner.id]

    assert await repos.profiles.delete_taste_profile(owner.id) is None
    assert await repos.profiles.find_taste_profile(owner.id) is None
    with pytest.raises(NotFoundError, match="taste profile not found"):
        await repos.profiles.get_taste_profile(owner.id)
    with pytest.raises(NotFoundError, match="taste profile not found"):
        await repos.profiles.delete_taste_profile(owner.id)
    with pytest.raises(NotFoundError):
        await repos.profiles.update_taste_profile(owner.id, {"dietary_restrictions": []})
