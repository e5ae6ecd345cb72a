"""The ef_search a similarity search uses when its caller gives none.

``HNSW_EF_SEARCH`` set in the environment wins. Otherwise the newest row of
``vector_search_tuning`` for the index (written by ``python -m datalayer vector tune``),
else the settings' default. The stored value is read at most once per :data:`TTL_S` per
resolver (one per repository, so one per process in an application), so a re-tune is
picked up within minutes and no search pays a query for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.settings import Settings

logger = logging.getLogger(__name__)

HNSW_INDEX = "ix_recipe_embeddings_embedding_hnsw"
"""The index similarity searches read, and the one ``vector tune`` measures."""
TTL_S = 300.0
RETRY_S = 10.0
"""After a failed read, how long the previous (or default) value is used before retrying."""

LATEST_TUNING = text(
    "SELECT ef_search FROM vector_search_tuning WHERE index_name = :index "
    "ORDER BY tuned_at DESC, id DESC LIMIT 1"
)


def ef_search_override(settings: Settings) -> int | None:
    """``HNSW_EF_SEARCH`` when it was set explicitly (environment or argument), else None."""
    return settings.hnsw_ef_search if "hnsw_ef_search" in settings.model_fields_set else None


class TunedEfSearch:
    """Resolves the default ef_search: the override, the stored tuning, or the default."""

    def __init__(
        self,
        settings: Settings,
        *,
        index: str = HNSW_INDEX,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._override = ef_search_override(settings)
        self._default = settings.hnsw_ef_search
        self._index = index
        self._ttl_s = ttl_s
        self._clock = clock
        self._value: int | None = None
        self._expires = 0.0
        self._refreshing = False

    def known(self) -> int:
        """The ef_search resolved last (the override, the stored tuning or the default),
        without a database read."""
        if self._override is not None:
            return self._override
        return self._default if self._value is None else self._value

    async def resolve(
        self, reading: Callable[[], AbstractAsyncContextManager[AsyncSession]]
    ) -> int:
        """The ef_search to use; when the cached value is older than the TTL, reads the
        stored one in a transaction of its own from ``reading`` (the database's
        ``read_transaction``; see :meth:`current`)."""
        fresh = self._fresh(self._clock())
        if fresh is not None:
            return fresh
        async with reading() as session:
            return await self.current(session)

    async def current(self, session: AsyncSession) -> int:
        """The ef_search to use; reads the stored value through ``session`` when the cached
        one is older than the TTL (concurrent searches meanwhile keep the cached one)."""
        now = self._clock()
        fresh = self._fresh(now)
        if fresh is not None:
            return fresh
        self._refreshing = True
        try:
            self._value, ttl = await self._read(session)
            self._expires = now + ttl
        finally:
            self._refreshing = False
        return self._value

    def _fresh(self, now: float) -> int | None:
        """The value to use without a read, or None when it must be read."""
        if self._override is not None:
            return self._override
        if self._value is not None and (now < self._expires or self._refreshing):
            return self._value
        return None

    async def _read(self, session: AsyncSession) -> tuple[int, float]:
        try:
            # A savepoint: a schema older than the tuning table (or a missing grant) must
            # not abort the search's transaction.
            async with session.begin_nested():
                stored = (await session.execute(LATEST_TUNING, {"index": self._index})).scalar()
        except ProgrammingError as exc:
            logger.warning(
                "stored ef_search unreadable; using the default",
                extra={"error": type(exc.orig).__name__},
            )
            return self._value or self._default, RETRY_S
        return (self._default if stored is None else int(stored)), self._ttl_s
