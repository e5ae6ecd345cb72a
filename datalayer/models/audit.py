"""The append-only audit log and the record of its retention.

``audit_logs`` is range-partitioned by month on ``occurred_at`` (partitions
``audit_logs_YYYYMM``). Only the maintenance role may create partitions ahead
(``ensure_audit_log_partitions``) and drop months past the seven-year retention
(``drop_expired_audit_log_partitions``), which first writes an ``audit_log_retention`` row.

Rows refer to users by ``subject_hash`` (a keyed hash of the user id), never by a foreign
key, so the log survives GDPR erasure. Triggers reject UPDATE, DELETE and TRUNCATE for every
role; the application role is granted SELECT and INSERT only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object

AUDIT_LOG_PARTITION_PREFIX = "audit_logs_"


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        CheckConstraint("length(btrim(action)) > 0", name="action_not_blank"),
        Index("ix_audit_logs_subject_hash_occurred_at", "subject_hash", "occurred_at"),
        Index("ix_audit_logs_occurred_at", "occurred_at"),
        Index("ix_audit_logs_entity", "entity_type", "entity_id"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=text("now()"))
    actor: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(128))
    subject_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = jsonb_object()
    # The hash chain (see datalayer.audit): the previous row's row_hash and this row's HMAC.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AuditLogRetention(Base):
    """One dropped month of ``audit_logs``: written by the drop function, append-only.

    ``boundary_hashes`` are the ``row_hash`` values of dropped rows that a remaining row names
    as its ``prev_hash``; ``verify_chain`` accepts exactly those links as a start of the chain.
    """

    __tablename__ = "audit_log_retention"
    __table_args__ = (CheckConstraint("range_start < range_end", name="range"),)

    partition_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    range_start: Mapped[datetime]
    range_end: Mapped[datetime]
    rows_dropped: Mapped[int] = mapped_column(BigInteger)
    boundary_hashes: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'")
    )
    dropped_at: Mapped[datetime] = created_at()
