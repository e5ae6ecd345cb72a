"""Operational tables of the database module (seed 002): system logs and cache entries.

``system_logs`` is range-partitioned by month on ``created_at``. Partitions are created by
the SQL function ``ensure_system_log_partitions(months_ahead)`` (migrations create the current
and next months; maintenance keeps them ahead) and a DEFAULT partition catches the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from datalayer.models.base import Base, created_at, jsonb_object, one_of, updated_at

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SYSTEM_LOG_PARTITION_PREFIX = "system_logs_"


class SystemLog(Base):
    __tablename__ = "system_logs"
    __table_args__ = (
        CheckConstraint(one_of("level", LOG_LEVELS), name="level"),
        Index("ix_system_logs_service_created_at", "service", "created_at"),
        Index("ix_system_logs_level_created_at", "level", "created_at"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=text("now()"))
    service: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = jsonb_object()


class CacheEntry(Base):
    """A database-backed cache entry (the slow, durable tier behind Redis)."""

    __tablename__ = "cache_entries"
    __table_args__ = (
        CheckConstraint("length(key) > 0", name="key_not_blank"),
        Index("ix_cache_entries_expires_at", "expires_at"),
    )

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column("value", server_default=text("'{}'::jsonb"))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
