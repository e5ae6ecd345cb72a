"""Writing to the append-only audit log.

Users appear only as ``subject_hash``: an HMAC-SHA256 of the user id under
``AUDIT_HASH_KEY``, so the log can be searched for a user while they exist and keeps nothing
that identifies them after erasure. Details name changed fields, never their values.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.models import AuditLog


def subject_hash(user_id: uuid.UUID, key: str) -> str:
    return hmac.new(key.encode(), user_id.bytes, hashlib.sha256).hexdigest()


class AuditTrail:
    """Adds audit rows to the caller's transaction (so they commit or roll back with it)."""

    def __init__(self, key: str, actor: str = "datalayer") -> None:
        self._key = key
        self._actor = actor

    def record(
        self,
        session: AsyncSession,
        action: str,
        *,
        entity_type: str,
        entity_id: uuid.UUID | None = None,
        subject: uuid.UUID | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditLog(
                actor=self._actor,
                action=action,
                entity_type=entity_type,
                entity_id=str(entity_id) if entity_id else None,
                subject_hash=subject_hash(subject, self._key) if subject else None,
                details=details or {},
            )
        )
