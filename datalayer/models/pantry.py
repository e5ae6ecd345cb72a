"""FoodSave pantry: what a user has at home, with expiry dates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, updated_at, uuid_pk


class PantryItem(Base):
    __tablename__ = "pantry_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_pantry_items_user_id_expiry_date", "user_id", "expiry_date"),
        Index("ix_pantry_items_expiry_date", "expiry_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    unit: Mapped[str | None] = mapped_column(String(32))
    expiry_date: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
