"""The user aggregate: accounts with GDPR consent, sessions and data-export requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import (
    Base,
    created_at,
    jsonb_object,
    one_of,
    updated_at,
    uuid_pk,
)

EXPORT_FORMATS = ("json", "csv")
EXPORT_STATUSES = ("pending", "processing", "completed", "failed", "expired")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("length(btrim(username)) >= 3", name="username_length"),
        CheckConstraint("email = lower(email) AND position('@' in email) > 1", name="email_format"),
        CheckConstraint(
            "(gdpr_consent_version IS NULL) = (gdpr_consent_at IS NULL)",
            name="consent_version_with_timestamp",
        ),
        Index(
            "ix_users_deletion_requested_at",
            "deletion_requested_at",
            postgresql_where=text("deletion_requested_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    auth0_user_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    gdpr_consent_version: Mapped[str | None] = mapped_column(String(32))
    gdpr_consent_at: Mapped[datetime | None]
    deletion_requested_at: Mapped[datetime | None]
    preferences: Mapped[dict[str, Any]] = jsonb_object()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class UserSession(Base):
    __tablename__ = "user_sessions"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        Index("ix_user_sessions_user_id", "user_id"),
        Index("ix_user_sessions_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DataExportRequest(Base):
    __tablename__ = "data_export_requests"
    __table_args__ = (
        CheckConstraint(one_of("format", EXPORT_FORMATS), name="format"),
        CheckConstraint(one_of("status", EXPORT_STATUSES), name="status"),
        Index("ix_data_export_requests_user_id", "user_id"),
        Index(
            "ix_data_export_requests_open",
            "requested_at",
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
        # Built online by migration 0005 (CREATE INDEX CONCURRENTLY): the expiry cleanup.
        Index(
            "ix_data_export_requests_expires_at",
            "expires_at",
            postgresql_where=text("status = 'completed'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(8), server_default=text("'json'"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    requested_at: Mapped[datetime] = created_at()
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
