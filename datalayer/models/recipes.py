"""The recipe aggregate: recipes with their AI-processing state and product-linked ingredients.

``search_vector`` is a stored generated column over the title (weight A), the names of the
recipe's parsed ingredients (B, kept in ``ingredient_names`` by a trigger on
``parsed_ingredients``) and the description (C).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, one_of, updated_at, uuid_pk

AI_STATUSES = ("pending", "processing", "completed", "failed")

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(ingredient_names, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')"
)


class Recipe(Base):
    __tablename__ = "recipes"
    __table_args__ = (
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
        CheckConstraint("servings BETWEEN 1 AND 100", name="servings_range"),
        CheckConstraint("cooking_time_minutes BETWEEN 0 AND 10080", name="cooking_time_range"),
        CheckConstraint(one_of("ai_status", AI_STATUSES), name="ai_status"),
        CheckConstraint("ai_attempts >= 0", name="ai_attempts_non_negative"),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_sha256"),
        # Lets recipe_embeddings carry the owner with a foreign key that keeps it consistent.
        UniqueConstraint("id", "user_id", name="uq_recipes_id_user_id"),
        Index("ix_recipes_user_id_created_at", "user_id", "created_at"),
        Index("ix_recipes_cuisine_type", "cuisine_type"),
        Index("ix_recipes_tags", "tags", postgresql_using="gin"),
        # Per-user full-text search in one GIN scan (btree_gin); serves search_vector alone too.
        Index(
            "ix_recipes_user_id_search_vector",
            "user_id",
            "search_vector",
            postgresql_using="gin",
        ),
        # The AI-processing queue: only pending/failed rows are indexed.
        Index(
            "ix_recipes_ai_queue",
            "created_at",
            postgresql_where=text("ai_status IN ('pending', 'failed')"),
        ),
        Index(
            "ix_recipes_ai_processing",
            "ai_started_at",
            postgresql_where=text("ai_status = 'processing'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    cooking_time_minutes: Mapped[int | None]
    difficulty: Mapped[int | None] = mapped_column(SmallInteger)
    servings: Mapped[int | None]
    cuisine_type: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'::character varying[]")
    )
    ai_status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    ai_error: Mapped[str | None] = mapped_column(Text)
    ai_attempts: Mapped[int] = mapped_column(server_default=text("0"))
    ai_started_at: Mapped[datetime | None]
    ai_processed_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    ingredient_names: Mapped[str] = mapped_column(Text, server_default=text("''"))
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class RecipeIngredient(Base):
    """A recipe's link to a catalogue product (FoodSave), with quantity and unit."""

    __tablename__ = "recipe_ingredients"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    recipe_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recipes.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    unit: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
