"""Parsed ingredients: the structured lines the AI pipeline extracts from a recipe."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, uuid_pk


class ParsedIngredient(Base):
    __tablename__ = "parsed_ingredients"
    __table_args__ = (
        UniqueConstraint("recipe_id", "position"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint(
            "length(normalized_name) > 0 AND normalized_name = lower(normalized_name)",
            name="normalized_name_lowercase",
        ),
        Index("ix_parsed_ingredients_normalized_name", "normalized_name", "recipe_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    recipe_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipes.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(255))
    normalized_name: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    unit: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
