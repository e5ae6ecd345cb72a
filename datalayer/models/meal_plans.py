"""FoodSave meal plans: a recipe (or a note) planned for a meal on a date."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, one_of, updated_at, uuid_pk

MEAL_TYPES = ("breakfast", "lunch", "dinner", "snack")


class MealPlan(Base):
    __tablename__ = "meal_plans"
    __table_args__ = (
        CheckConstraint(one_of("meal_type", MEAL_TYPES), name="meal_type"),
        Index("ix_meal_plans_user_id_plan_date", "user_id", "plan_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    plan_date: Mapped[date]
    meal_type: Mapped[str] = mapped_column(String(20))
    recipe_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recipes.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
