"""Recipe embeddings for pgvector similarity search.

The column is declared without a dimension here; migrations create it as
``vector(EMBEDDING_DIM)`` and ``migrate check`` compares that dimension with the setting.
The owner (``user_id``) is denormalised so user-scoped searches filter without a join; the
composite foreign key to ``recipes (id, user_id)`` keeps it equal to the recipe's owner.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, updated_at, uuid_pk

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


class RecipeEmbedding(Base):
    __tablename__ = "recipe_embeddings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["recipe_id", "user_id"],
            ["recipes.id", "recipes.user_id"],
            ondelete="CASCADE",
            name="fk_recipe_embeddings_recipe_owner",
        ),
        CheckConstraint("source_text_hash ~ '^[0-9a-f]{64}$'", name="source_text_hash_sha256"),
        CheckConstraint("length(btrim(model)) > 0", name="model_not_blank"),
        Index("ix_recipe_embeddings_user_id", "user_id"),
        Index("ix_recipe_embeddings_model_version", "model", "model_version"),
        Index(
            "ix_recipe_embeddings_stale",
            "updated_at",
            postgresql_where=text("is_stale"),
        ),
        Index(
            "ix_recipe_embeddings_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    recipe_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    user_id: Mapped[uuid.UUID]
    embedding: Mapped[list[float]] = mapped_column(Vector())
    model: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(50))
    source_text_hash: Mapped[str] = mapped_column(String(64))
    is_stale: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
