"""Cache warming: load a user's frequently read data before the first request needs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from datalayer.cache import keys
from datalayer.cache.keys import CacheKey
from datalayer.cache.tiered import TieredCache


@dataclass(frozen=True, slots=True)
class WarmItem:
    """One entry to warm: its key, its loader and (optionally) its pydantic adapter."""

    key: CacheKey
    load: Callable[[], Awaitable[Any]]
    adapter: TypeAdapter[Any] | None = None


async def warm(cache: TieredCache, items: Iterable[WarmItem]) -> int:
    """Load and store each item (replacing what is cached); returns how many were stored."""
    stored = 0
    for item in items:
        if await cache.refresh(item.key, item.load, adapter=item.adapter):
            stored += 1
    return stored


async def warm_user(
    cache: TieredCache,
    user_id: UUID | str,
    *,
    profile: Callable[[], Awaitable[Any]] | None = None,
    recipes: Callable[[], Awaitable[Any]] | None = None,
    taste_profile: Callable[[], Awaitable[Any]] | None = None,
    adapters: dict[keys.DataType, TypeAdapter[Any]] | None = None,
) -> int:
    """Warm a user's profile, recipe list (variant ``all``) and taste profile."""
    adapters = adapters or {}
    items = [
        WarmItem(key, load, adapters.get(key.data_type))
        for key, load in (
            (keys.user_profile(user_id), profile),
            (keys.user_recipes(user_id), recipes),
            (keys.taste_profile(user_id), taste_profile),
        )
        if load is not None
    ]
    return await warm(cache, items)
