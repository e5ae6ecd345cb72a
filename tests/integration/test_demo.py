"""The demo job end to end on a fresh database (what `make demo` prints)."""

from __future__ import annotations

import io

from rich.console import Console
from sqlalchemy import text

from datalayer.db import Database
from datalayer.demo import DEMO_USERS, RECIPES_PER_USER, run_demo
from datalayer.repositories.ingredients import IngredientRepository
from datalayer.repositories.users import UserRepository
from datalayer.settings import Settings


async def test_demo_loads_embeds_and_searches(
    database_url: str, settings: Settings, db: Database
) -> None:
    output = io.StringIO()
    console = Console(file=output, width=200)
    await run_demo(database_url, settings, console)
    await run_demo(database_url, settings, console)  # a second run reuses the corpus

    printed = output.getvalue()
    assert f"corpus {RECIPES_PER_USER * 3} recipes for 3 users" in printed
    assert "AI pipeline embedded 300 recipes" in printed
    assert "AI pipeline embedded 0 recipes" in printed
    assert "full-text search" in printed and "similar recipes" in printed
    async with db.transaction() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM recipes), "
                    "(SELECT count(*) FROM recipe_embeddings), "
                    "(SELECT count(*) FROM recipes WHERE ai_status = 'completed')"
                )
            )
        ).one()
    assert tuple(counts) == (300, 300, 300)


async def test_demo_prints_the_most_used_ingredients(
    database_url: str, settings: Settings, db: Database
) -> None:
    output = io.StringIO()
    await run_demo(database_url, settings, Console(file=output, width=400))
    chef = await UserRepository(db, settings).get_user_by_auth0_id(f"demo|{DEMO_USERS[0]}")
    stats = await IngredientRepository(db).get_ingredient_statistics(chef.id, top=6)
    expected = ", ".join(item.name for item in stats.top_ingredients)
    assert f"top ingredients: {expected}" in " ".join(output.getvalue().split())
