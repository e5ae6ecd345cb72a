"""Who may act: an active user is ``is_active`` and has no pending deletion request.

A user who asked for erasure (:meth:`UserRepository.request_data_deletion`) is inactive at
once: they cannot create content (recipes, ingredient lists, taste profiles, FoodSave rows),
their recipes drop out of global similarity search, and every such call reports them
exactly like a user that does not exist: ``NotFoundError("user not found")``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.errors import NotFoundError
from datalayer.models import User

USER_NOT_FOUND = "user not found"

# The same rule in SQL, for statements written as text (``users`` aliased as ``u``).
ACTIVE_USER_SQL = "u.is_active AND u.deletion_requested_at IS NULL"


def is_active_user() -> ColumnElement[bool]:
    """The condition on ``users`` that makes a user active."""
    return and_(User.is_active, User.deletion_requested_at.is_(None))


async def require_active_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """NotFoundError unless ``user_id`` is active.

    The row is locked ``FOR SHARE`` until the transaction ends, so a deletion request that
    commits meanwhile waits for this write, or this write sees the request and stops.
    """
    statement: Any = (
        select(User.id).where(User.id == user_id, is_active_user()).with_for_update(read=True)
    )
    if await session.scalar(statement) is None:
        raise NotFoundError(USER_NOT_FOUND)
