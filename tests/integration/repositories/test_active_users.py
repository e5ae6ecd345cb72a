"""A user with a pending deletion request is inactive: every call that creates content for
them is NotFoundError("user not found"), exactly like a user that does not exist, and
nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from tests import factories
from tests.integration.repositories.conftest import Repos
from tests.integration.repositories.support import snapshot


@dataclass
class Leaving:
    """A user who asked for erasure, with rows created while still active."""

    user: uuid.UUID
    recipe: uuid.UUID
    conversation: uuid.UUID
    product: uuid.UUID


@pytest.fixture
async def leaving(repos: Repos, db: Database) -> Leaving:
    g = await factories.graph(db)
    await repos.ingredients.store_parsed_ingredients(g.user.id, g.recipe.id, [{"name": "Salt"}])
    await repos.users.request_data_deletion(g.user.id)
    return Leaving(g.user.id, g.recipe.id, g.conversation.id, g.product.id)


def content_calls(
    repos: Repos, db: Database, who: uuid.UUID, w: Leaving
) -> dict[str, Callable[[], Awaitable[Any]]]:
    pantry, plans = PantryRepository(db), MealPlanRepository(db)
    receipts, chats = ReceiptRepository(db), ConversationRepository(db)
    day = date(2024, 6, 3)
    return {
        "recipes.create_recipe": lambda: repos.recipes.create_recipe(who, {"title": "New"}),
        "ingredients.store": lambda: repos.ingredients.store_parsed_ingredients(
            who, w.recipe, [{"name": "Pepper"}]
        ),
        "ingredients.update": lambda: repos.ingredients.update_parsed_ingredients(
            who, w.recipe, [{"name": "Pepper"}]
        ),
        "profiles.create": lambda: repos.profiles.create_taste_profile(who),
        "profiles.calculate": lambda: repos.profiles.calculate_taste_profile(who),
        "pantry.create": lambda: pantry.create(who, {"product_id": w.product}),
        "plans.create": lambda: plans.create(who, {"plan_date": day, "meal_type": "lunch"}),
        "receipts.create": lambda: receipts.create(who, {"store_name": "Lidl"}),
        "receipts.create_with_items": lambda: receipts.create_with_items(
            who, {}, [{"product_name": "Milk"}]
        ),
        "chats.create": lambda: chats.create(who, {"session_id": factories.unique("s")}),
        "chats.create_message": lambda: chats.create_message(
            who, w.conversation, {"content": "hi", "role": "user"}
        ),
    }


CALLS = [
    "recipes.create_recipe",
    "ingredients.store",
    "ingredients.update",
    "profiles.create",
    "profiles.calculate",
    "pantry.create",
    "plans.create",
    "receipts.create",
    "receipts.create_with_items",
    "chats.create",
    "chats.create_message",
]


@pytest.mark.parametrize("call", CALLS)
async def test_an_inactive_user_creates_nothing(
    repos: Repos, db: Database, leaving: Leaving, call: str
) -> None:
    before = await snapshot(db)
    with pytest.raises(NotFoundError) as inactive:
        await content_calls(repos, db, leaving.user, leaving)[call]()
    assert str(inactive.value) == "user not found"
    assert await snapshot(db) == before


async def test_a_deleted_account_reads_like_a_missing_one(
    repos: Repos, db: Database, leaving: Leaving
) -> None:
    """The same message for every call whether the user is inactive or never existed; the
    user's existing rows stay readable for export until erasure."""
    nobody = uuid.uuid4()
    for name, call in content_calls(repos, db, nobody, leaving).items():
        if name.startswith(("ingredients.", "chats.create_message")):
            continue  # these name the leaving user's own recipe/conversation
        with pytest.raises(NotFoundError, match=r"^user not found$"):
            await call()
    assert await repos.users.find_user_by_id(leaving.user) is None
    lines = await repos.ingredients.get_recipe_ingredients(leaving.user, leaving.recipe)
    assert [line.name for line in lines] == ["Salt"]


async def test_a_pending_deletion_alone_makes_a_user_inactive(repos: Repos, db: Database) -> None:
    """Even with ``is_active`` still true (e.g. set by hand), a deletion request blocks."""
    user = (await repos.users.create_user({"username": "pending", "email": "p@example.com"})).id
    await repos.profiles.create_taste_profile(user)
    await repos.recipes.create_recipe(user, {"title": "Before"})
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE users SET deletion_requested_at = now() WHERE id = :id"), {"id": user}
        )
    with pytest.raises(NotFoundError, match="user not found"):
        await repos.recipes.create_recipe(user, {"title": "After"})
    assert await repos.users.find_user_by_id(user) is None
    assert user not in await repos.profiles.get_profiles_for_refresh()
