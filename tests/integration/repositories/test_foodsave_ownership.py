"""User B acting on user A's FoodSave data gets NotFoundError, with the same message as for a
missing row, and no table changes; B's listings never show A's rows."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from tests import factories
from tests.integration.repositories.support import new_user, snapshot

TODAY = date(2024, 6, 1)


@dataclass
class World:
    """User A's rows (one of each kind) and user B, who owns only a meal plan."""

    a: uuid.UUID
    b: uuid.UUID
    pantry: PantryRepository
    receipts: ReceiptRepository
    plans: MealPlanRepository
    chats: ConversationRepository
    item: uuid.UUID
    receipt: uuid.UUID
    plan: uuid.UUID
    conversation: uuid.UUID
    session_id: str
    recipe: uuid.UUID
    b_plan: uuid.UUID


@pytest.fixture
async def world(db: Database) -> World:
    g = await factories.graph(db)
    a, b = g.user.id, await new_user(db)
    pantry, receipts = PantryRepository(db), ReceiptRepository(db)
    plans, chats = MealPlanRepository(db), ConversationRepository(db)
    item = await pantry.create(
        a, {"product_id": g.product.id, "quantity": "2", "expiry_date": TODAY}
    )
    receipt = await receipts.create_with_items(
        a,
        {"store_name": "Lidl", "total_amount": "3.00", "purchase_date": TODAY},
        [{"product_name": "Milk", "total_price": "3.00"}],
    )
    plan = await plans.create(a, {"plan_date": TODAY, "meal_type": "lunch"})
    b_plan = await plans.create(b, {"plan_date": TODAY, "meal_type": "lunch"})
    await chats.create_message(a, g.conversation.id, {"content": "hello", "role": "user"})
    return World(
        a, b, pantry, receipts, plans, chats, item.id, receipt.id, plan.id,
        g.conversation.id, g.conversation.session_id, g.recipe.id, b_plan.id,
    )  # fmt: skip


Attempt = Callable[[World, Any], Awaitable[Any]]

# name -> (which of A's keys B aims at, what B does with it)
ATTEMPTS: dict[str, tuple[str, Attempt]] = {
    "pantry.get": ("item", lambda w, k: w.pantry.get(w.b, k)),
    "pantry.update": ("item", lambda w, k: w.pantry.update(w.b, k, {"unit": "kg"})),
    "pantry.delete": ("item", lambda w, k: w.pantry.delete(w.b, k)),
    "receipts.get_with_items": ("receipt", lambda w, k: w.receipts.get_with_items(w.b, k)),
    "receipts.update": ("receipt", lambda w, k: w.receipts.update(w.b, k, {"store_name": "X"})),
    "receipts.delete": ("receipt", lambda w, k: w.receipts.delete(w.b, k)),
    "receipts.create_with_items(conversation_id)": (
        "conversation",
        lambda w, k: w.receipts.create_with_items(
            w.b, {"conversation_id": k}, [{"product_name": "Bread"}]
        ),
    ),
    "plans.get": ("plan", lambda w, k: w.plans.get(w.b, k)),
    "plans.update": ("plan", lambda w, k: w.plans.update(w.b, k, {"notes": "mine"})),
    "plans.delete": ("plan", lambda w, k: w.plans.delete(w.b, k)),
    "plans.create(recipe_id)": (
        "recipe",
        lambda w, k: w.plans.create(
            w.b, {"plan_date": TODAY, "meal_type": "snack", "recipe_id": k}
        ),
    ),
    "plans.update(recipe_id)": (
        "recipe",
        lambda w, k: w.plans.update(w.b, w.b_plan, {"recipe_id": k}),
    ),
    "chats.get": ("conversation", lambda w, k: w.chats.get(w.b, k)),
    "chats.get_by_session_id": ("session_id", lambda w, k: w.chats.get_by_session_id(w.b, k)),
    "chats.get_with_messages": ("conversation", lambda w, k: w.chats.get_with_messages(w.b, k)),
    "chats.get_with_messages_by_session_id": (
        "session_id",
        lambda w, k: w.chats.get_with_messages_by_session_id(w.b, k),
    ),
    "chats.create_message": (
        "conversation",
        lambda w, k: w.chats.create_message(w.b, k, {"content": "hi", "role": "user"}),
    ),
    "chats.list_messages": ("conversation", lambda w, k: w.chats.list_messages(w.b, k)),
    "receipts.create(conversation_id)": (
        "conversation",
        lambda w, k: w.receipts.create(w.b, {"conversation_id": k}),
    ),
    "chats.update": ("conversation", lambda w, k: w.chats.update(w.b, k, {"title": "mine"})),
    "chats.delete": ("conversation", lambda w, k: w.chats.delete(w.b, k)),
}


async def outcome(call: Awaitable[Any]) -> str:
    """The NotFoundError message ``call`` raised, or what went wrong instead."""
    try:
        await call
    except NotFoundError as exc:
        return f"NotFoundError: {exc}"
    return "no error"


async def test_another_users_rows_are_not_found_and_unchanged(db: Database, world: World) -> None:
    """One world for every attempt (they change nothing, which is the point): cheaper than a
    fresh database per attempt."""
    before = await snapshot(db)
    mismatches = {}
    for name, (field, attempt) in ATTEMPTS.items():
        missing_key: Any = "no-such-session" if field == "session_id" else uuid.uuid4()
        missing = await outcome(attempt(world, missing_key))
        foreign = await outcome(attempt(world, getattr(world, field)))
        if not missing.startswith("NotFoundError") or foreign != missing:
            mismatches[name] = (missing, foreign)
        assert await snapshot(db) == before, f"{name} changed a table"
    assert mismatches == {}


async def test_listings_never_show_another_users_rows(world: World) -> None:
    w = world
    for user, expected in ((w.a, 1), (w.b, 0)):
        assert (await w.pantry.list_for_user(user)).total == expected
        expiring = await w.pantry.expiring_within(user, 365, include_expired=True, today=TODAY)
        assert expiring.total == expected
        # factories.graph gave A a second receipt, without a purchase date
        assert (await w.receipts.list_for_user(user)).total == 2 * expected
        stats = await w.receipts.spending_stats(user, TODAY, TODAY)
        assert stats.receipt_count == expected
        assert stats.total == Decimal("3.00") * expected
        assert len(stats.by_category) == expected
        assert (await w.chats.list_for_user(user)).total == expected
    # B owns one plan of its own; A's never shows up in B's listings.
    assert [p.id for p in (await w.plans.list_for_user(w.b)).items] == [w.b_plan]
    assert [p.id for p in await w.plans.between(w.b, TODAY, TODAY)] == [w.b_plan]
    assert [p.id for p in await w.plans.between(w.a, TODAY, TODAY)] == [w.plan]


async def test_find_gives_none_for_another_users_rows(db: Database, world: World) -> None:
    w = world
    before = await snapshot(db)
    assert await w.pantry.find(w.b, w.item) is None
    assert await w.receipts.find(w.b, w.receipt) is None
    assert await w.plans.find(w.b, w.plan) is None
    assert await w.chats.find(w.b, w.conversation) is None
    assert await w.chats.find_by_session_id(w.b, w.session_id) is None
    assert (await w.plans.find(w.a, w.plan)) == await w.plans.get(w.a, w.plan)
    assert (await w.chats.find_by_session_id(w.a, w.session_id)) is not None
    assert await snapshot(db) == before
