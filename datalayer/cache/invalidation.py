"""Invalidations queued by a unit of work, applied only after it commits.

A repository write calls e.g. ``pending.recipe_updated(recipe_id, owner_id)`` inside the
transaction; the unit of work calls :meth:`PendingInvalidations.apply` after COMMIT and
:meth:`PendingInvalidations.discard` on rollback, so a rolled-back write invalidates
nothing and a committed one is invalidated before the write is acknowledged.

The named events follow the recipe-book design (user updated, recipe updated, taste profile
updated); each maps to per-owner scopes, so "all of user X's recipe lists" is one version
increment in Redis, never a key scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from datalayer.cache.keys import (
    CATALOG_SCOPE,
    GLOBAL_SCOPE,
    recipe_scope,
    taste_scope,
    user_recipes_scope,
    user_scope,
)
from datalayer.errors import InvalidInputError

if TYPE_CHECKING:
    from datalayer.cache.tiered import TieredCache


def user_updated_scopes(user_id: UUID | str) -> list[str]:
    """A user's profile changed (or the user was erased): everything cached for them."""
    return [user_scope(user_id)]


def recipe_updated_scopes(recipe_id: UUID | str, owner_id: UUID | str | None) -> list[str]:
    """A recipe (or its ingredients, embedding) changed, was created or deleted.

    Invalidates the recipe's own entries, the owner's recipe lists, and every answer
    computed over the catalog (search results).
    """
    scopes = [recipe_scope(recipe_id), CATALOG_SCOPE]
    if owner_id is not None:
        scopes.append(user_recipes_scope(owner_id))
    return scopes


def taste_profile_updated_scopes(user_id: UUID | str) -> list[str]:
    """A taste profile changed: the profile, and whatever is derived from it."""
    return [taste_scope(user_id)]


class PendingInvalidations:
    """Scopes collected during one unit of work; not thread-safe (one per transaction)."""

    def __init__(self, cache: TieredCache) -> None:
        self._cache = cache
        self._scopes: set[str] = set()
        self._position: int | None = None

    def add(self, *scopes: str) -> None:
        """Queue raw scopes (see :mod:`datalayer.cache.keys` for the scope builders)."""
        self._scopes.update(scopes)

    def user_updated(self, user_id: UUID | str) -> None:
        self.add(*user_updated_scopes(user_id))

    def recipe_updated(self, recipe_id: UUID | str, owner_id: UUID | str | None) -> None:
        self.add(*recipe_updated_scopes(recipe_id, owner_id))

    def taste_profile_updated(self, user_id: UUID | str) -> None:
        self.add(*taste_profile_updated_scopes(user_id))

    def everything(self) -> None:
        """Invalidate the whole cache (e.g. after a restore or a bulk import)."""
        self.add(GLOBAL_SCOPE)

    def at_position(self, position: int) -> None:
        """Record the commit's WAL position (``pg_current_wal_lsn()`` read after COMMIT)."""
        self._position = position if self._position is None else max(self._position, position)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self._scopes)

    def __bool__(self) -> bool:
        return bool(self._scopes)

    async def apply(self) -> None:
        """After COMMIT: invalidate everything queued, once; the queue is then empty."""
        scopes, position = sorted(self._scopes), self._position
        self._scopes.clear()
        self._position = None
        if scopes:
            await self._cache.invalidate(scopes, position=position)

    def discard(self) -> None:
        """After ROLLBACK: forget everything queued."""
        self._scopes.clear()
        self._position = None


def parse_lsn(text: str) -> int:
    """PostgreSQL's ``X/Y`` LSN text as an integer position (what the cache compares)."""
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        raise InvalidInputError("not a PostgreSQL LSN", field="position") from None
