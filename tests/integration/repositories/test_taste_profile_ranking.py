"""Taste profiles rank favourite ingredients by how many recipes use them."""

from __future__ import annotations

from sqlalchemy import text

from datalayer.db import Database
from tests.integration.repositories.conftest import Repos, new_user


async def test_favorite_ingredients_come_back_ranked_by_count(repos: Repos) -> None:
    owner = await new_user(repos)
    # Long names used often, short names used once: JSONB object order (by key length)
    # would put the short ones first.
    uses = {"extra virgin olive oil": 3, "garlic cloves": 2, "salt": 1, "egg": 1}
    for index in range(3):
        recipe = await repos.recipes.create_recipe(owner.id, {"title": f"Dish {index}"})
        names = [name for name, count in uses.items() if count > index]
        await repos.ingredients.store_parsed_ingredients(
            owner.id, recipe.id, [{"name": name} for name in names]
        )
    profile = await repos.profiles.calculate_taste_profile(owner.id)
    ranked = [(item.name, item.recipes) for item in profile.favorite_ingredients]
    assert ranked == [("extra virgin olive oil", 3), ("garlic cloves", 2), ("egg", 1), ("salt", 1)]
    again = await repos.profiles.get_taste_profile(owner.id)
    assert again is not None and again.favorite_ingredients == profile.favorite_ingredients


async def test_explicit_favourites_are_stored_ranked(repos: Repos) -> None:
    owner = await new_user(repos)
    await repos.profiles.create_taste_profile(owner.id)
    given = [
        {"name": "basil", "recipes": 1},
        {"name": "extra virgin olive oil", "recipes": 4},
        {"name": "anchovy", "recipes": 1},
        {"name": "parmigiano reggiano", "recipes": 2},
    ]
    updated = await repos.profiles.update_taste_profile(owner.id, {"favorite_ingredients": given})
    expected = [("extra virgin olive oil", 4), ("parmigiano reggiano", 2), ("anchovy", 1)]
    expected.append(("basil", 1))
    assert [(i.name, i.recipes) for i in updated.favorite_ingredients] == expected
    stored = await repos.profiles.get_taste_profile(owner.id)
    assert [(i.name, i.recipes) for i in stored.favorite_ingredients] == expected


async def test_a_profile_stored_as_an_object_reads_as_a_ranked_list(
    repos: Repos, db: Database
) -> None:
    """Rows written before the ranking was a list (and the column default ``{}``)."""
    owner = await new_user(repos)
    await repos.profiles.create_taste_profile(owner.id)
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE user_taste_profiles SET favorite_ingredients = "
                """'{"egg": 1, "salt": 2, "garlic cloves": 5}'::jsonb WHERE user_id = :id"""
            ),
            {"id": owner.id},
        )
    profile = await repos.profiles.get_taste_profile(owner.id)
    ranked = [(i.name, i.recipes) for i in profile.favorite_ingredients]
    assert ranked == [("garlic cloves", 5), ("salt", 2), ("egg", 1)]
