"""FoodSave meal plans: a recipe (or a note) planned for a meal on a date.

The contract verbs come from :class:`OwnedRepository` (``create``, ``get``, ``find``,
``list_for_user``, ``update``, ``delete``, the acting user first); another user's plan is
reported exactly like a missing one. A plan may only name one of the user's own recipes.
``list_for_user`` sorts by ``plan_date`` (default ``-plan_date``, newest first),
``created_at``, ``updated_at`` or ``meal_type``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case

from datalayer.db import Database, idempotent_read
from datalayer.models import MealPlan, Recipe
from datalayer.repositories.owned import OwnedRepository
from datalayer.schemas.foodsave import date_range
from datalayer.schemas.meal_plans import (
    MAX_RANGE_DAYS,
    MealPlanIn,
    MealPlanOut,
    MealPlanUpdate,
    MealType,
)

_MEAL_ORDER = {meal.value: position for position, meal in enumerate(MealType)}


class MealPlanRepository(OwnedRepository[MealPlanIn, MealPlanUpdate, MealPlanOut]):
    """A user's meal plans, and the plans between two dates."""

    def __init__(self, db: Database) -> None:
        table = MealPlan.__table__
        super().__init__(
            db,
            MealPlan,
            schemas=(MealPlanIn, MealPlanUpdate, MealPlanOut),
            id_name="plan_id",
            sort_keys=("plan_date", "created_at", "updated_at", "meal_type"),
            default_sort="-plan_date",
            tiebreak=[table.c.created_at],
            owned_references={"recipe_id": Recipe},
        )

    @idempotent_read
    async def between(self, user_id: uuid.UUID, start: Any, end: Any) -> list[MealPlanOut]:
        """The user's plans from ``start`` to ``end`` inclusive (at most 366 days apart), by
        date and then breakfast, lunch, dinner, snack."""
        span = date_range(start, end, max_days=MAX_RANGE_DAYS)
        columns = self.table.c
        statement = (
            self.scoped_select(user_id)
            .where(columns.plan_date.between(span.start, span.end))
            .order_by(
                columns.plan_date,
                case(_MEAL_ORDER, value=columns.meal_type),
                columns.created_at,
                columns.id,
            )
        )
        async with self._db.read_transaction() as session:
            rows = (await session.execute(statement)).mappings().all()
        return [MealPlanOut.model_validate(dict(row)) for row in rows]
