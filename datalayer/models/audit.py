"""The append-only audit log.

Rows refer to users by ``subject_hash`` (a keyed hash of the user id), never by a foreign
key, so the log survives GDPR erasure. Triggers reject UPDATE, DELETE and TRUNCATE for every
role; the application role is granted SELECT and INSERT only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        CheckConstraint("length(btrim(action)) > 0", name="action_not_blank"),
        Index("ix_audit_logs_subject_hash_occurred_at", "subject_hash", "occurred_at"),
        Index("ix_audit_logs_occurred_at", "occurred_at"),
        Index("ix_audit_logs_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = created_at()
    actor: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(128))
    subject_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = jsonb_object()
    # The hash chain (see datalayer.audit): the previous row's row_hash and this row's HMAC.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
