"""Measured search settings: the ef_search that reaches a recall target on the stored data.

``python -m datalayer vector tune`` (and the ``vector_tune`` maintenance task) appends one
row per run; searches use the newest row of their index (see
:mod:`datalayer.repositories.search_tuning`). Rows are history: never updated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at


class VectorSearchTuning(Base):
    """One tuning run of an HNSW index: the ef_search chosen and the recall measured."""

    __tablename__ = "vector_search_tuning"
    __table_args__ = (
        CheckConstraint("ef_search BETWEEN 1 AND 1000", name="ef_search_range"),
        CheckConstraint("k BETWEEN 1 AND 1000", name="k_range"),
        CheckConstraint(
            "target_recall > 0 AND target_recall <= 1 AND recall_mean BETWEEN 0 AND 1 "
            "AND recall_lower_bound BETWEEN 0 AND recall_mean",
            name="recall_range",
        ),
        CheckConstraint("sample_size > 0 AND row_count >= sample_size", name="sample_size_range"),
        Index("ix_vector_search_tuning_index_name_tuned_at", "index_name", "tuned_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    index_name: Mapped[str] = mapped_column(String(63))
    k: Mapped[int]
    target_recall: Mapped[float] = mapped_column(Float)
    ef_search: Mapped[int]
    recall_mean: Mapped[float] = mapped_column(Float)
    recall_lower_bound: Mapped[float] = mapped_column(Float)
    target_met: Mapped[bool]
    sample_size: Mapped[int]
    row_count: Mapped[int] = mapped_column(BigInteger)
    tuned_at: Mapped[datetime] = created_at()
