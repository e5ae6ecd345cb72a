"""GDPR records: consent per purpose, and the ledger of erasures.

The erasure ledger records which people were erased and when, with nothing that identifies
them.

A row holds only the keyed subject hash (the same one the audit log uses), so a backup
restored later can have every erasure re-applied before use, without the ledger itself
being personal data.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object, one_of, uuid_pk


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


CONSENT_PURPOSES = ("personalization", "analytics", "marketing")


class ConsentRecord(Base):
    """One grant or withdrawal of consent to one purpose; the history is never rewritten."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(one_of("purpose", CONSENT_PURPOSES), name="purpose"),
        CheckConstraint("length(btrim(policy_version)) > 0", name="policy_version_not_blank"),
        Index(
            "ix_consent_records_user_id_purpose_recorded_at", "user_id", "purpose", "recorded_at"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    policy_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = created_at()
