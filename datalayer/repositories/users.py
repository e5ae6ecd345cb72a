"""Users with GDPR consent tracking; every change is written to the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.audit import AuditTrail
from datalayer.cache import keys
from datalayer.db import Database, idempotent_read
from datalayer.errors import NotFoundError
from datalayer.models import DataExportRequest, User
from datalayer.repositories.active_users import USER_NOT_FOUND, is_active_user
from datalayer.repositories.caching import user_updated
from datalayer.schemas.common import as_uuid, parse, parse_value, require_changes
from datalayer.schemas.users import (
    Auth0Id,
    ConsentVersion,
    ExportFormat,
    UserIn,
    UserOut,
    UserUpdate,
)
from datalayer.settings import Settings

_consent = TypeAdapter(ConsentVersion)
_MAYBE_USER = TypeAdapter(UserOut | None)


class UserRepository:
    """Accounts, consent, export and deletion requests.

    A deactivated user, or one with a pending deletion request, reads as missing.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._audit = AuditTrail(settings.audit_hash_key.get_secret_value())

    async def create_user(self, user_data: UserIn | dict[str, Any]) -> UserOut:
        """Create a user; a consent version given here is timestamped now."""
        data = parse(UserIn, user_data)
        user = User(
            username=data.username,
            email=data.email,
            auth0_user_id=data.auth0_user_id,
            preferences=data.preferences,
        )
        if data.consent_version is not None:
            user.gdpr_consent_version = data.consent_version
            user.gdpr_consent_at = func.now()
        async with self._db.transaction() as session:
            session.add(user)
            await session.flush()
            await session.refresh(user)
            user_updated(session, user.id)
            await self._audit.record(
                session, "user.created", entity_type="user", entity_id=user.id, subject=user.id
            )
            return UserOut.model_validate(user)

    async def get_user_by_id(self, user_id: uuid.UUID) -> UserOut:
        """The active user, or NotFoundError."""
        return _found(await self.find_user_by_id(user_id))

    async def find_user_by_id(self, user_id: uuid.UUID) -> UserOut | None:
        """The active user, or None when missing or inactive."""
        return await self._cached_one(as_uuid(user_id, "user_id"))

    async def get_user_by_auth0_id(self, auth0_user_id: str) -> UserOut:
        """The active user with this Auth0 id, or NotFoundError."""
        return _found(await self.find_user_by_auth0_id(auth0_user_id))

    async def find_user_by_auth0_id(self, auth0_user_id: str) -> UserOut | None:
        """The active user with this Auth0 id, or None."""
        auth0_id = parse_value(Auth0Id, auth0_user_id, "auth0_user_id")
        statement = select(User).where(User.auth0_user_id == auth0_id, is_active_user())
        return await self._one(statement)

    async def update_user(
        self, user_id: uuid.UUID, updates: UserUpdate | dict[str, Any]
    ) -> UserOut:
        """Change username, email or preferences; the audit row names the changed fields.

        An update that changes nothing is InvalidInputError.
        """
        data = parse(UserUpdate, updates)
        values = require_changes(data.model_dump(exclude_unset=True, exclude_none=True))
        return await self._update(user_id, values, "user.updated", {"fields": sorted(values)})

    async def update_consent(self, user_id: uuid.UUID, consent_version: str) -> UserOut:
        """Record consent to ``consent_version`` with the current time."""
        version = parse_value(ConsentVersion, consent_version, "consent_version")
        values = {"gdpr_consent_version": version, "gdpr_consent_at": func.now()}
        return await self._update(user_id, values, "user.consent_updated", {"version": version})

    async def request_data_export(
        self, user_id: uuid.UUID, export_format: str = ExportFormat.JSON
    ) -> uuid.UUID:
        """Queue a GDPR data export; returns the request id."""
        fmt = parse_value(ExportFormat, export_format, "export_format")
        user_id = as_uuid(user_id, "user_id")
        async with self._db.transaction() as session:
            await self._require_active(session, user_id)
            request = DataExportRequest(user_id=user_id, format=fmt.value)
            session.add(request)
            await session.flush()
            await self._audit.record(
                session,
                "gdpr.export_requested",
                entity_type="data_export_request",
                entity_id=request.id,
                subject=user_id,
                details={"format": fmt.value},
            )
            return request.id

    async def request_data_deletion(self, user_id: uuid.UUID) -> bool:
        """Mark the user for erasure and deactivate the account (always True; NotFoundError
        when the user is missing or already inactive)."""
        await self._update(
            user_id,
            {"deletion_requested_at": func.now(), "is_active": False},
            "gdpr.deletion_requested",
            {},
        )
        return True

    async def _update(
        self, user_id: uuid.UUID, values: dict[str, Any], action: str, details: dict[str, Any]
    ) -> UserOut:
        user_id = as_uuid(user_id, "user_id")
        statement = (
            update(User)
            .where(User.id == user_id, is_active_user())
            .values(**values)
            .returning(User)
        )
        async with self._db.transaction() as session:
            user = (await session.execute(statement)).scalar_one_or_none()
            if user is None:
                raise NotFoundError(USER_NOT_FOUND)
            user_updated(session, user_id)
            await self._audit.record(
                session,
                action,
                entity_type="user",
                entity_id=user_id,
                subject=user_id,
                details=details,
            )
            return UserOut.model_validate(user)

    @idempotent_read
    async def _cached_one(self, user_id: uuid.UUID) -> UserOut | None:
        async def query(session: AsyncSession) -> UserOut | None:
            # Built here, on a miss only: building it costs ten times a cache hit.
            statement = select(User).where(User.id == user_id, is_active_user())
            user = (await session.execute(statement)).scalar_one_or_none()
            return UserOut.model_validate(user) if user is not None else None

        return await self._db.cached_read(keys.user_profile(user_id), query, adapter=_MAYBE_USER)

    @idempotent_read
    async def _one(self, statement: Any) -> UserOut | None:
        async with self._db.read_transaction() as session:
            user = (await session.execute(statement)).scalar_one_or_none()
            return UserOut.model_validate(user) if user is not None else None

    @staticmethod
    async def _require_active(session: Any, user_id: uuid.UUID) -> None:
        found = await session.scalar(select(User.id).where(User.id == user_id, is_active_user()))
        if found is None:
            raise NotFoundError(USER_NOT_FOUND)


def _found(user: UserOut | None) -> UserOut:
    if user is None:
        raise NotFoundError(USER_NOT_FOUND)
    return user
