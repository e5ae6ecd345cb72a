"""RecipeRepository: CRUD, listing, full-text search and the AI-processing queue."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.schemas.recipes import AIStatus
from tests import factories
from tests.integration.repositories.conftest import Repos, new_user

SOUP = {
    "title": "Tomato basil soup",
    "description": "Silky soup with roasted tomatoes",
    "instructions": "Roast, blend, season.",
    "cooking_time_minutes": 40,
    "difficulty": 2,
    "servings": 4,
    "cuisine_type": "italian",
    "tags": ["soup", "vegetarian"],
}


async def test_create_enters_the_queue_and_reads_back(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, SOUP)
    assert recipe.ai_status is AIStatus.PENDING and recipe.ai_attempts == 0
    assert len(recipe.content_hash) == 64
    assert await repos.recipes.get_recipe_by_id(owner.id, recipe.id) == recipe
    assert await repos.recipes.find_recipe_by_id(owner.id, recipe.id) == recipe
    assert await repos.recipes.find_recipe_by_id(owner.id, uuid.uuid4()) is None
    with pytest.raises(NotFoundError, match="recipe not found"):
        await repos.recipes.get_recipe_by_id(owner.id, uuid.uuid4())


async def test_listing_filters_and_paginates_with_total(repos: Repos) -> None:
    owner = await new_user(repos)
    for index in range(7):
        await repos.recipes.create_recipe(
            owner.id,
            {
                **SOUP,
                "title": f"Dish {index}",
                "difficulty": 1 + index % 5,
                "cooking_time_minutes": 10 * index,
                "tags": ["quick"] if index < 3 else ["slow"],
                "cuisine_type": "thai" if index % 2 else "italian",
            },
        )
    page = await repos.recipes.get_user_recipes(owner.id, limit=3, offset=0)
    assert (len(page.items), page.total, page.has_more) == (3, 7, True)
    assert [r.title for r in page.items] == ["Dish 6", "Dish 5", "Dish 4"]
    last = await repos.recipes.get_user_recipes(owner.id, limit=3, offset=6)
    assert [r.title for r in last.items] == ["Dish 0"] and last.total == 7
    assert not last.has_more
    empty = await repos.recipes.get_user_recipes(owner.id, limit=3, offset=30)
    assert empty.items == [] and empty.total == 7 and not empty.has_more

    thai = await repos.recipes.get_user_recipes(owner.id, filters={"cuisine_type": "thai"})
    assert thai.total == 3
    quick = await repos.recipes.get_user_recipes(
        owner.id, filters={"tags": ["quick"], "max_cooking_time": 10}
    )
    assert sorted(r.title for r in quick.items) == ["Dish 0", "Dish 1"]
    hard = await repos.recipes.get_user_recipes(owner.id, filters={"difficulty": 5})
    assert [r.title for r in hard.items] == ["Dish 4"]
    pending = await repos.recipes.get_user_recipes(owner.id, filters={"ai_status": "pending"})
    assert pending.total == 7


async def test_update_requeues_only_when_content_changes(repos: Repos, db: Database) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, SOUP)
    await repos.embeddings.store_embedding(
        recipe.id, factories.embedding_vector(), "m", "1", factories.sha256("x")
    )
    await repos.recipes.update_ai_processing_status(recipe.id, "completed")

    same = await repos.recipes.update_recipe(owner.id, recipe.id, {"servings": 6, "tags": ["a"]})
    assert same.ai_status is AIStatus.COMPLETED and same.content_hash == recipe.content_hash
    assert (await repos.embeddings.get_embedding(recipe.id)).is_stale is False

    changed = await repos.recipes.update_recipe(owner.id, recipe.id, {"title": "Tomato soup v2"})
    assert changed.ai_status is AIStatus.PENDING and changed.content_hash != recipe.content_hash
    assert (await repos.embeddings.get_embedding(recipe.id)).is_stale is True
    with pytest.raises(InvalidInputError, match="nothing to update"):
        await repos.recipes.update_recipe(owner.id, recipe.id, {})


async def test_delete_removes_everything_attached(repos: Repos, db: Database) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, SOUP)
    await repos.embeddings.store_embedding(
        recipe.id, factories.embedding_vector(), "m", "1", factories.sha256("x")
    )
    await repos.ingredients.store_parsed_ingredients(owner.id, recipe.id, [{"name": "Tomato"}])
    await repos.recipes.delete_recipe(owner.id, recipe.id)
    async with db.transaction() as session:
        for table in ("recipes", "recipe_embeddings", "parsed_ingredients"):
            count = await session.execute(text(f"SELECT count(*) FROM {table}"))
            assert count.scalar_one() == 0, table
    with pytest.raises(NotFoundError):
        await repos.recipes.delete_recipe(owner.id, recipe.id)


async def test_full_text_search_ranks_title_over_description(repos: Repos) -> None:
    owner = await new_user(repos)
    in_title = await repos.recipes.create_recipe(owner.id, {"title": "Mushroom risotto"})
    in_text = await repos.recipes.create_recipe(
        owner.id, {"title": "Rice bowl", "description": "topped with a mushroom"}
    )
    by_ingredient = await repos.recipes.create_recipe(owner.id, {"title": "Forest pie"})
    await repos.ingredients.store_parsed_ingredients(
        owner.id, by_ingredient.id, [{"name": "Mushrooms"}, {"name": "Butter"}]
    )
    await repos.recipes.create_recipe(owner.id, {"title": "Plain pasta"})

    hits = await repos.recipes.search_recipes(owner.id, "mushrooms")
    assert [hit.recipe.id for hit in hits.items] == [in_title.id, by_ingredient.id, in_text.id]
    assert hits.total == 3
    assert (await repos.recipes.search_recipes(owner.id, "mushroom -risotto")).total == 2
    assert (await repos.recipes.search_recipes(owner.id, '"plain pasta"')).total == 1


async def test_search_pages_follow_the_rank_over_every_match(repos: Repos, db: Database) -> None:
    owner, other = await new_user(repos), await new_user(repos)
    words = ["chili", "chili lime", "lime", "chili chili", "chili soup", "soup"]
    for index in range(30):  # repeated texts: equal ranks, broken by id
        text_ = words[index % len(words)]
        await repos.recipes.create_recipe(
            owner.id, {"title": f"{text_} {index % 4}", "description": f"with {text_}"}
        )
    await repos.recipes.create_recipe(other.id, {"title": "chili for someone else"})
    async with db.transaction() as session:
        expected = [
            row[0]
            for row in await session.execute(
                text(
                    "SELECT id FROM recipes, websearch_to_tsquery('english', 'chili') AS q "
                    "WHERE user_id = :owner AND search_vector @@ q "
                    "ORDER BY ts_rank_cd(search_vector, q) DESC, id"
                ),
                {"owner": owner.id},
            )
        ]
    assert len(expected) == 20
    pages = [
        await repos.recipes.search_recipes(owner.id, "chili", limit=6, offset=o)
        for o in (0, 6, 12, 18)
    ]
    assert [hit.recipe.id for page in pages for hit in page.items] == expected
    assert {page.total for page in pages} == {20}
    assert [page.has_more for page in pages] == [True, True, True, False]
    beyond = await repos.recipes.search_recipes(owner.id, "chili", limit=6, offset=24)
    assert (beyond.items, beyond.total, beyond.has_more) == ([], 20, False)
    ranks = [hit.rank for page in pages for hit in page.items]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) > 1


async def test_claimers_never_share_a_recipe(repos: Repos) -> None:
    owner = await new_user(repos)
    created = {
        (await repos.recipes.create_recipe(owner.id, {"title": f"R{i}"})).id for i in range(40)
    }
    batches = await asyncio.gather(
        *(repos.recipes.get_recipes_for_ai_processing(limit=7) for _ in range(8))
    )
    claimed = [recipe.id for batch in batches for recipe in batch]
    assert len(claimed) == len(set(claimed)) == 40
    assert set(claimed) == created
    assert all(
        r.ai_status is AIStatus.PROCESSING and r.ai_attempts == 1 for b in batches for r in b
    )
    assert await repos.recipes.get_recipes_for_ai_processing(limit=10) == []


async def test_failed_recipes_are_retried_until_the_attempt_limit(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Fragile"})
    for attempt in range(1, 6):
        claimed = await repos.recipes.get_recipes_for_ai_processing(limit=5)
        assert [r.id for r in claimed] == [recipe.id] and claimed[0].ai_attempts == attempt
        failed = await repos.recipes.update_ai_processing_status(recipe.id, "failed", "timeout")
        assert failed.ai_status is AIStatus.FAILED
    assert await repos.recipes.get_recipes_for_ai_processing(limit=5) == []
    stored = await repos.recipes.get_recipe_by_id(owner.id, recipe.id)
    assert stored.ai_error == "timeout" and stored.ai_attempts == 5


async def test_completed_status_clears_the_error(repos: Repos) -> None:
    owner = await new_user(repos)
    recipe = await repos.recipes.create_recipe(owner.id, {"title": "Fine"})
    await repos.recipes.update_ai_processing_status(recipe.id, AIStatus.FAILED, "boom")
    await repos.recipes.update_ai_processing_status(recipe.id, AIStatus.COMPLETED)
    stored = await repos.recipes.get_recipe_by_id(owner.id, recipe.id)
    assert stored.ai_status is AIStatus.COMPLETED and stored.ai_error is None
    with pytest.raises(NotFoundError):
        await repos.recipes.update_ai_processing_status(uuid.uuid4(), "completed")
    with pytest.raises(InvalidInputError, match="status"):
        await repos.recipes.update_ai_processing_status(recipe.id, "finished")


async def test_list_sorts_by_a_whitelisted_key(repos: Repos) -> None:
    owner = await new_user(repos)
    for title, minutes in [("Banana bread", 60), ("Apple pie", None), ("Cherry tart", 20)]:
        await repos.recipes.create_recipe(
            owner.id, {"title": title, "cooking_time_minutes": minutes}
        )
    by_title = await repos.recipes.get_user_recipes(owner.id, sort="title")
    assert [r.title for r in by_title.items] == ["Apple pie", "Banana bread", "Cherry tart"]
    by_title_desc = await repos.recipes.get_user_recipes(owner.id, sort="-title")
    assert [r.title for r in by_title_desc.items] == ["Cherry tart", "Banana bread", "Apple pie"]
    quickest = await repos.recipes.get_user_recipes(owner.id, sort="cooking_time_minutes")
    assert [r.title for r in quickest.items] == ["Cherry tart", "Banana bread", "Apple pie"]
    oldest = await repos.recipes.get_user_recipes(owner.id, sort="created_at")
    assert [r.title for r in oldest.items] == ["Banana bread", "Apple pie", "Cherry tart"]
    for bad in ("user_id", "title; DROP TABLE recipes", "--title", "", 3, ["title"]):
        with pytest.raises(InvalidInputError, match="sort must be one of"):
            await repos.recipes.get_user_recipes(owner.id, sort=bad)  # type: ignore[arg-type]


async def test_bulk_get_returns_own_recipes_in_the_order_asked(repos: Repos) -> None:
    owner, other = await new_user(repos), await new_user(repos)
    a, b, c = [await repos.recipes.create_recipe(owner.id, {"title": t}) for t in ("A", "B", "C")]
    theirs = await repos.recipes.create_recipe(other.id, {"title": "Theirs"})
    asked = [c.id, theirs.id, uuid.uuid4(), a.id, c.id]
    found = await repos.recipes.find_recipes_by_ids(owner.id, asked)
    assert [r.id for r in found] == [c.id, a.id]
    # Both orders (whatever order the database would pick, one of them differs from it).
    for order in ([a.id, b.id, c.id], [c.id, b.id, a.id]):
        assert [r.id for r in await repos.recipes.find_recipes_by_ids(owner.id, order)] == order
    assert await repos.recipes.find_recipes_by_ids(owner.id, []) == []
    assert [r.title for r in await repos.recipes.find_recipes_by_ids(other.id, [b.id])] == []
