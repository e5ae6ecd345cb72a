"""Taste profiles rank favourite ingredients by how many recipes use them."""

from __future__ import annotations

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
