"""An L1 hit hands every caller the same object, so cached answers are deeply read-only: a
caller that tries to change one gets an error, and the next reader sees the answer
unchanged. A copy is mutable. The same holds without a cache (one contract)."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError

from datalayer.cache import DataType
from datalayer.runtime import DataLayer
from tests.integration.cachewire.conftest import new_user, recipe_payload

Layer = Callable[..., Awaitable[DataLayer]]


async def test_a_cached_recipe_cannot_be_changed_by_a_caller(make_layer: Layer) -> None:
    dl = await make_layer()
    user = await new_user(dl)
    created = await dl.recipes.create_recipe(user.id, recipe_payload("soup"))
    first = await dl.recipes.get_recipe_by_id(user.id, created.id)
    with pytest.raises(TypeError, match="read-only"):
        first.tags.append("poisoned")
    with pytest.raises(TypeError, match="read-only"):
        first.tags[0] = "poisoned"
    with pytest.raises(ValidationError):
        first.title = "poisoned"  # type: ignore[misc]
    again = await dl.recipes.get_recipe_by_id(user.id, created.id)
    assert dl.cache is not None
    assert dl.cache.stats.snapshot()[DataType.RECIPE_DETAILS].l1_hits >= 1
    assert again is first  # the L1 hit is the stored object itself, not a copy
    assert again.tags == ["quick"] and again.title == "soup"
    mine = copy.deepcopy(again.tags)
    mine.append("mine")
    assert (await dl.recipes.get_recipe_by_id(user.id, created.id)).tags == ["quick"]


async def test_a_cached_page_cannot_be_changed_by_a_caller(make_layer: Layer) -> None:
    dl = await make_layer()
    user = await new_user(dl)
    await dl.recipes.create_recipe(user.id, recipe_payload("soup"))
    page = await dl.recipes.get_user_recipes(user.id)
    with pytest.raises(TypeError, match="read-only"):
        page.items.clear()
    with pytest.raises(ValidationError):
        page.total = 0  # type: ignore[misc]
    again = await dl.recipes.get_user_recipes(user.id)
    assert [recipe.title for recipe in again.items] == ["soup"] and again.total == 1


async def test_the_same_contract_without_a_cache(make_layer: Layer) -> None:
    dl = await make_layer()
    dl.database.cache = None
    user = await new_user(dl)
    created = await dl.recipes.create_recipe(user.id, recipe_payload("soup"))
    recipe = await dl.recipes.get_recipe_by_id(user.id, created.id)
    with pytest.raises(TypeError, match="read-only"):
        recipe.tags.append("x")
