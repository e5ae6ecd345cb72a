"""Input and output models of the meal-plan repository."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import ConfigDict

from datalayer.schemas.common import InputModel, OutputModel
from datalayer.schemas.foodsave import Notes

MAX_RANGE_DAYS = 366


class MealType(StrEnum):
    """The meals of a day (the ``ck_meal_plans_meal_type`` constraint)."""

    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"
    SNACK = "snack"


class MealPlanIn(InputModel):
    model_config = ConfigDict(use_enum_values=True)

    plan_date: date
    meal_type: MealType
    recipe_id: uuid.UUID | None = None
    notes: Notes | None = None


class MealPlanUpdate(InputModel):
    model_config = ConfigDict(use_enum_values=True)

    plan_date: date | None = None
    meal_type: MealType | None = None
    recipe_id: uuid.UUID | None = None
    notes: Notes | None = None


class MealPlanOut(OutputModel):
    id: uuid.UUID
    user_id: uuid.UUID
    plan_date: date
    meal_type: MealType
    recipe_id: uuid.UUID | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
