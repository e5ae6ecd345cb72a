"""FoodSave meal plans: a recipe (or a note) planned for a meal on a date.

Every method acts for a ``user_id``: another user's plan is reported exactly like a missing
one (NotFoundError, same message) and is never changed. A plan may only name one of the
user's own recipes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import case, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.models import MealPlan, Recipe
from datalayer.repositories.crud import CrudRepository, Row, convert_page, table_of
from datalayer.schemas.common import Page, as_uuid, parse
from datalayer.schemas.foodsave import date_range
from datalayer.schemas.meal_plans import (
    MAX_RANGE_DAYS,
    MealPlanIn,
    MealPlanOut,
    MealPlanUpdate,
    MealType,
)

_MEAL_ORDER = {meal.value: position for position, meal in enumerate(MealType)}


class MealPlanRepository:
    """A user's meal plans: create, change, delete, list, and the plans between two dates."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._recipes = table_of(Recipe)

    def _plans(self, user_id: uuid.UUID) -> CrudRepository:
        return CrudRepository(self._db, MealPlan, scope={"user_id": user_id})

    async def _check_recipe(
        self, session: AsyncSession, user_id: uuid.UUID, recipe_id: uuid.UUID | None
    ) -> None:
        if recipe_id is None:
            return
        table = self._recipes
        owned = exists().where(table.c.id == recipe_id, table.c.user_id == user_id)
        if not (await session.execute(select(owned))).scalar_one():
            raise NotFoundError("recipes row not found")

    async def create(self, user_id: uuid.UUID, data: MealPlanIn | Mapping[str, Any]) -> MealPlanOut:
        """Plan a meal; ``recipe_id``, when given, must be one of the user's recipes."""
        owner = as_uuid(user_id, "user_id")
        plan = parse(MealPlanIn, data)
        async with self._db.transaction() as session:
            await self._check_recipe(session, owner, plan.recipe_id)
            row = await self._plans(owner).create(plan, session=session)
        return MealPlanOut.model_validate(row)

    async def get(self, user_id: uuid.UUID, plan_id: uuid.UUID) -> MealPlanOut:
        """One of the user's plans, or NotFoundError."""
        row = await self._plans(as_uuid(user_id, "user_id")).get(as_uuid(plan_id, "plan_id"))
        return MealPlanOut.model_validate(row)

    async def update(
        self,
        user_id: uuid.UUID,
        plan_id: uuid.UUID,
        changes: MealPlanUpdate | Mapping[str, Any],
    ) -> MealPlanOut:
        """Change one of the user's plans (only the fields given), or NotFoundError."""
        owner = as_uuid(user_id, "user_id")
        key = as_uuid(plan_id, "plan_id")
        update = parse(MealPlanUpdate, changes)
        async with self._db.transaction() as session:
            await self._check_recipe(session, owner, update.recipe_id)
            row = await self._plans(owner).update(key, update, session=session)
        return MealPlanOut.model_validate(row)

    async def delete(self, user_id: uuid.UUID, plan_id: uuid.UUID) -> None:
        """Delete one of the user's plans, or NotFoundError."""
        await self._plans(as_uuid(user_id, "user_id")).delete(as_uuid(plan_id, "plan_id"))

    async def list_for_user(
        self, user_id: uuid.UUID, limit: int = 50, offset: int = 0
    ) -> Page[MealPlanOut]:
        """The user's plans, newest date first, one page at a time."""
        plans = self._plans(as_uuid(user_id, "user_id"))
        page = await plans.list_page(limit, offset, order_by=["-plan_date", "created_at"])
        return convert_page(page, MealPlanOut)

    async def between(self, user_id: uuid.UUID, start: Any, end: Any) -> list[MealPlanOut]:
        """The user's plans from ``start`` to ``end`` inclusive (at most 366 days apart), by
        date and then breakfast, lunch, dinner, snack."""
        plans = self._plans(as_uuid(user_id, "user_id"))
        span = date_range(start, end, max_days=MAX_RANGE_DAYS)
        columns = plans.table.c
        statement = (
            plans.select()
            .where(columns.plan_date.between(span.start, span.end))
            .order_by(
                columns.plan_date,
                case(_MEAL_ORDER, value=columns.meal_type),
                columns.created_at,
                columns.id,
            )
        )
        async with self._db.read_transaction() as session:
            rows: list[Row] = [dict(row) for row in (await session.execute(statement)).mappings()]
        return [MealPlanOut.model_validate(row) for row in rows]
