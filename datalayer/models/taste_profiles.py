"""User taste profiles, recalculated from the user's recipe history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object, updated_at


class UserTasteProfile(Base):
    __tablename__ = "user_taste_profiles"
    __table_args__ = (
        CheckConstraint("recipe_count >= 0", name="recipe_count_non_negative"),
        Index("ix_user_taste_profiles_stale", "stale_since", postgresql_where=text("is_stale")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # A ranked list [{"name", "recipes"}]; the column default (and rows written before the
    # ranking was stored as a list) is the object {} - see schemas.profiles.rank_ingredients.
    favorite_ingredients: Mapped[list[dict[str, Any]] | dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    cuisine_preferences: Mapped[dict[str, Any]] = jsonb_object()
    difficulty_distribution: Mapped[dict[str, Any]] = jsonb_object()
    cooking_time_distribution: Mapped[dict[str, Any]] = jsonb_object()
    dietary_restrictions: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'::character varying[]")
    )
    recipe_count: Mapped[int] = mapped_column(server_default=text("0"))
    is_stale: Mapped[bool] = mapped_column(server_default=text("true"))
    stale_since: Mapped[datetime | None] = mapped_column(server_default=text("now()"))
    calculated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
