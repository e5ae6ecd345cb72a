"""The meal-plan repository."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from datalayer.db import Database
from datalayer.errors import InvalidInputError, NotFoundError
from datalayer.models.meal_plans import MEAL_TYPES
from datalayer.repositories.meal_plans import MealPlanRepository
from datalayer.schemas.meal_plans import MealType
from tests import factories
from tests.integration.repositories.support import snapshot

MONDAY = date(2024, 6, 3)


@pytest.fixture
async def setup(db: Database) -> tuple[MealPlanRepository, factories.Graph]:
    return MealPlanRepository(db), await factories.graph(db)


def test_meal_types_match_the_check_constraint() -> None:
    assert tuple(meal.value for meal in MealType) == MEAL_TYPES


async def test_create_get_update_delete(setup: tuple[MealPlanRepository, factories.Graph]) -> None:
    plans, g = setup
    user = g.user.id
    plan = await plans.create(
        user, {"plan_date": MONDAY, "meal_type": "dinner", "recipe_id": g.recipe.id}
    )
    assert (plan.meal_type, plan.recipe_id) == (MealType.DINNER, g.recipe.id)
    assert await plans.get(user, plan.id) == plan

    changed = await plans.update(user, plan.id, {"meal_type": "lunch", "recipe_id": None})
    assert (changed.meal_type, changed.recipe_id, changed.plan_date) == ("lunch", None, MONDAY)

    await plans.delete(user, plan.id)
    for attempt in (plans.get(user, plan.id), plans.delete(user, plan.id)):
        with pytest.raises(NotFoundError):
            await attempt


async def test_between_orders_by_date_then_meal(
    setup: tuple[MealPlanRepository, factories.Graph],
) -> None:
    plans, g = setup
    user = g.user.id
    for offset, meal in [(1, "snack"), (0, "dinner"), (1, "breakfast"), (0, "lunch"), (9, "lunch")]:
        await plans.create(user, {"plan_date": MONDAY + timedelta(days=offset), "meal_type": meal})

    week = await plans.between(user, MONDAY, MONDAY + timedelta(days=6))

    assert [((p.plan_date - MONDAY).days, p.meal_type) for p in week] == [
        (0, "lunch"),
        (0, "dinner"),
        (1, "breakfast"),
        (1, "snack"),
    ]
    assert await plans.between(user, "2024-06-03", "2024-06-03") == week[:2]
    assert len(await plans.between(user, MONDAY, MONDAY + timedelta(days=366))) == 5


async def test_list_for_user_is_paginated(
    setup: tuple[MealPlanRepository, factories.Graph],
) -> None:
    plans, g = setup
    for offset in range(5):
        await plans.create(
            g.user.id, {"plan_date": MONDAY + timedelta(days=offset), "meal_type": "lunch"}
        )
    page = await plans.list_for_user(g.user.id, limit=2, offset=1)
    assert [(p.plan_date - MONDAY).days for p in page.items] == [3, 2]
    assert page.total == 5


async def test_between_rejects_bad_ranges(
    setup: tuple[MealPlanRepository, factories.Graph],
) -> None:
    plans, g = setup
    for start, end in [
        (MONDAY, MONDAY - timedelta(days=1)),
        (MONDAY, MONDAY + timedelta(days=367)),
        ("2024-02-30", "2024-03-01"),
        ("monday", MONDAY),
        (None, MONDAY),
    ]:
        with pytest.raises(InvalidInputError):
            await plans.between(g.user.id, start, end)


async def test_recipe_must_be_the_users_own(
    db: Database, setup: tuple[MealPlanRepository, factories.Graph]
) -> None:
    plans, g = setup
    before = await snapshot(db)
    with pytest.raises(NotFoundError, match="recipes row not found"):
        await plans.create(
            g.user.id, {"plan_date": MONDAY, "meal_type": "lunch", "recipe_id": uuid.uuid4()}
        )
    assert await snapshot(db) == before
