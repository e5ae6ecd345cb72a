"""What the repositories need from the cache: the unit of work's invalidations and keys.

Reads go through :meth:`datalayer.db.Database.cached_read` (cache-aside, one switch per data
type: ``CACHE_DISABLED_TYPES``); writes queue invalidations on the transaction's
:class:`~datalayer.cache.PendingInvalidations`, applied only after COMMIT.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.cache import PendingInvalidations
from datalayer.db.engine import INVALIDATIONS


def invalidations(session: AsyncSession) -> PendingInvalidations | None:
    """The transaction's queued invalidations, or None when the database has no cache."""
    pending = session.info.get(INVALIDATIONS)
    return pending if isinstance(pending, PendingInvalidations) else None


def user_updated(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Queue "user updated": everything cached for the user."""
    if (pending := invalidations(session)) is not None:
        pending.user_updated(user_id)


def recipe_updated(session: AsyncSession, recipe_id: uuid.UUID, owner: uuid.UUID | None) -> None:
    """Queue "recipe updated": the recipe's entries, the owner's lists, catalog answers."""
    if (pending := invalidations(session)) is not None:
        pending.recipe_updated(recipe_id, owner)


def taste_profile_updated(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Queue "taste profile updated"."""
    if (pending := invalidations(session)) is not None:
        pending.taste_profile_updated(user_id)


def fingerprint(**parts: Any) -> str:
    """A stable digest of a query's parameters (filters, paging, sort) for a cache key."""
    encoded = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]
