"""The unit of work queues invalidations, applies them once after COMMIT, drops them on
rollback."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from datalayer.cache import PendingInvalidations, keys
from datalayer.db.engine import INVALIDATIONS
from datalayer.runtime import DataLayer


def _counting(dl: DataLayer, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record every invalidation the cache receives (then really invalidate)."""
    assert dl.cache is not None
    calls: list[list[str]] = []
    original = dl.cache.invalidate

    async def invalidate(scopes: Any, *, position: int | None = None) -> None:
        calls.append(sorted(scopes))
        await original(scopes, position=position)

    monkeypatch.setattr(dl.cache, "invalidate", invalidate)
    return calls


async def test_rollback_drops_the_invalidations_and_commit_applies_them_once(
    make_layer: Callable[..., Awaitable[DataLayer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dl = await make_layer()
    assert dl.cache is not None
    calls = _counting(dl, monkeypatch)
    key = keys.user_profile(uuid.uuid4())

    async def old() -> str:
        return "old"

    async def new() -> str:
        return "new"

    assert await dl.cache.get_or_load(key, old) == "old"

    with pytest.raises(RuntimeError):
        async with dl.database.transaction() as session:
            pending = session.info[INVALIDATIONS]
            assert isinstance(pending, PendingInvalidations)
            pending.user_updated(key.identity)
            raise RuntimeError("abandon the transaction")
    assert calls == []
    assert await dl.cache.get_or_load(key, new) == "old"

    async with dl.database.transaction() as session:
        session.info[INVALIDATIONS].user_updated(key.identity)
        await session.execute(text("SELECT 1"))
    assert calls == [[f"user:{key.identity}"]]
    assert await dl.cache.get_or_load(key, new) == "new"

    async with dl.database.transaction() as session:  # nothing queued: nothing applied
        await session.execute(text("SELECT 1"))
    assert len(calls) == 1
