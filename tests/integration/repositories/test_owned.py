"""The generic owned-row repository behind the FoodSave aggregates: pages, sort, empty
updates, and what an inactive user may do."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from datalayer.db import Database
from datalayer.errors import InvalidInputError
from datalayer.repositories.conversations import ConversationRepository
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.repositories.pantry import PantryRepository
from datalayer.repositories.receipts import ReceiptRepository
from tests import factories
from tests.integration.repositories.support import snapshot

DAY = date(2024, 6, 3)


async def test_pages_say_whether_more_rows_follow(db: Database) -> None:
    g = await factories.graph(db)
    plans = MealPlanRepository(db)
    for offset in range(5):
        await plans.create(
            g.user.id, {"plan_date": DAY + timedelta(days=offset), "meal_type": "lunch"}
        )
    pages = [await plans.list_for_user(g.user.id, limit=2, offset=start) for start in (0, 2, 4, 6)]
    assert [(len(p.items), p.total, p.has_more) for p in pages] == [
        (2, 5, True),
        (2, 5, True),
        (1, 5, False),
        (0, 5, False),
    ]
    assert pages[0].model_dump()["has_more"] is True  # part of the serialised page


async def test_list_for_user_sorts_by_whitelisted_keys(db: Database) -> None:
    g = await factories.graph(db)
    pantry, receipts = PantryRepository(db), ReceiptRepository(db)
    for days in (5, None, 1):
        expiry = None if days is None else DAY + timedelta(days=days)
        await pantry.create(g.user.id, {"product_id": g.product.id, "expiry_date": expiry})

    def expiries(page: Any) -> list[int | None]:
        return [None if i.expiry_date is None else (i.expiry_date - DAY).days for i in page.items]

    assert expiries(await pantry.list_for_user(g.user.id)) == [1, 5, None]
    assert expiries(await pantry.list_for_user(g.user.id, sort="-expiry_date")) == [5, 1, None]

    for store, amount in (("Aldi", "9.00"), ("Lidl", "2.00")):
        await receipts.create(g.user.id, {"store_name": store, "total_amount": amount})
    by_amount = await receipts.list_for_user(g.user.id, sort="-total_amount")
    # factories.graph's receipt (12.50, no store) comes first; NULL stores sort last.
    assert [str(r.total_amount) for r in by_amount.items] == ["12.50", "9.00", "2.00"]
    by_store = await receipts.list_for_user(g.user.id, sort="store_name")
    assert [r.store_name for r in by_store.items] == ["Aldi", "Lidl", None]

    chats = ConversationRepository(db)
    await chats.create(g.user.id, {"session_id": "s-b", "title": "Beta"})
    await chats.create(g.user.id, {"session_id": "s-a", "title": "Alpha"})
    titles = [c.title for c in (await chats.list_for_user(g.user.id, sort="title")).items]
    assert titles == ["Alpha", "Beta", None]


@pytest.mark.parametrize("sort", ["user_id", "notes", "-id; DROP TABLE pantry_items", "", 1])
async def test_unknown_sort_is_invalid_input(db: Database, sort: Any) -> None:
    g = await factories.graph(db)
    before = await snapshot(db)
    for repository in (
        PantryRepository(db),
        MealPlanRepository(db),
        ReceiptRepository(db),
        ConversationRepository(db),
    ):
        with pytest.raises(InvalidInputError, match="sort must be one of"):
            await repository.list_for_user(g.user.id, sort=sort)
    assert await snapshot(db) == before


async def test_an_empty_update_is_invalid_input(db: Database) -> None:
    g = await factories.graph(db)
    pantry = PantryRepository(db)
    item = await pantry.create(g.user.id, {"product_id": g.product.id})
    before = await snapshot(db)
    with pytest.raises(InvalidInputError, match="nothing to update"):
        await pantry.update(g.user.id, item.id, {})
    with pytest.raises(InvalidInputError, match="nothing to update"):
        await ConversationRepository(db).update(g.user.id, g.conversation.id, {})
    assert await snapshot(db) == before
    assert await pantry.find(g.user.id, uuid.uuid4()) is None
