"""Consent per purpose: every grant and withdrawal kept with its time and policy version.

The current state is the newest record per purpose (one query); a purpose never answered is
not granted. Every change writes an audit row. Only active users can record consent.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from datalayer.audit import AuditTrail
from datalayer.db import Database
from datalayer.errors import NotFoundError
from datalayer.models import ConsentRecord, User
from datalayer.schemas.common import Page, as_uuid, page_request, parse
from datalayer.schemas.consent import ConsentIn, ConsentOut, ConsentPurpose
from datalayer.settings import Settings


class ConsentRepository:
    """Consent history and current state of each user."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._audit = AuditTrail(settings.audit_hash_key.get_secret_value())

    async def create_consent(
        self, user_id: uuid.UUID, consent: ConsentIn | dict[str, Any]
    ) -> ConsentOut:
        """Record a grant (``granted=True``) or withdrawal of consent to one purpose."""
        owner = as_uuid(user_id, "user_id")
        data = parse(ConsentIn, consent)
        async with self._db.transaction() as session:
            active = await session.scalar(select(User.id).where(User.id == owner, User.is_active))
            if active is None:
                raise NotFoundError("user not found")
            record = ConsentRecord(
                user_id=owner,
                purpose=data.purpose.value,
                granted=data.granted,
                policy_version=data.policy_version,
            )
            session.add(record)
            await session.flush()
            await session.refresh(record)
            await self._audit.record(
                session,
                "gdpr.consent_granted" if data.granted else "gdpr.consent_withdrawn",
                entity_type="consent",
                entity_id=record.id,
                subject=owner,
                details={"purpose": data.purpose.value, "policy_version": data.policy_version},
            )
            return ConsentOut.model_validate(record)

    async def get_consent_state(
        self, user_id: uuid.UUID
    ) -> dict[ConsentPurpose, ConsentOut | None]:
        """The newest record for every purpose (``None``: never answered, so not granted)."""
        owner = as_uuid(user_id, "user_id")
        statement = (
            select(ConsentRecord)
            .where(ConsentRecord.user_id == owner)
            .distinct(ConsentRecord.purpose)
            .order_by(ConsentRecord.purpose, ConsentRecord.recorded_at.desc(), ConsentRecord.id)
        )
        state: dict[ConsentPurpose, ConsentOut | None] = dict.fromkeys(ConsentPurpose)
        async with self._db.read_transaction() as session:
            for record in (await session.execute(statement)).scalars():
                state[ConsentPurpose(record.purpose)] = ConsentOut.model_validate(record)
        return state

    async def list_consent_history(
        self, user_id: uuid.UUID, limit: int = 50, offset: int = 0
    ) -> Page[ConsentOut]:
        """Every grant and withdrawal, newest first."""
        owner = as_uuid(user_id, "user_id")
        paging = page_request(limit, offset)
        condition = ConsentRecord.user_id == owner
        statement = (
            select(ConsentRecord)
            .where(condition)
            .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id)
            .limit(paging.limit)
            .offset(paging.offset)
        )
        async with self._db.read_transaction() as session:
            records = list((await session.execute(statement)).scalars())
            total = await session.scalar(select(func.count()).where(condition))
        items = [ConsentOut.model_validate(record) for record in records]
        return Page(items=items, total=int(total or 0), limit=paging.limit, offset=paging.offset)
