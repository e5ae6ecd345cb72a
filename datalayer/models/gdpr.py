"""The erasure ledger: which people were erased and when, with nothing that identifies them.

A row holds only the keyed subject hash (the same one the audit log uses), so a backup
restored later can have every erasure re-applied before use, without the ledger itself
being personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object


class ErasureLedgerEntry(Base):
    __tablename__ = "erasure_ledger"
    __table_args__ = (
        CheckConstraint("subject_hash ~ '^[0-9a-f]{64}$'", name="subject_hash_format"),
        CheckConstraint(
            "(completed_at IS NULL) = (rows_erased IS NULL)", name="completed_with_count"
        ),
    )

    subject_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None]
    rows_erased: Mapped[int | None] = mapped_column(BigInteger)
    tables: Mapped[dict[str, Any]] = jsonb_object()
