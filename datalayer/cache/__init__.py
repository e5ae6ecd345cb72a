"""Two-level cache (L1 in process, L2 Redis) that never serves data older than a write.

Public API::

    cache = TieredCache.from_settings(get_settings())   # L1 only when REDIS_URL is unset
    await cache.start()                                  # invalidation subscriber
    profile = await cache.get_or_load(keys.user_profile(user_id), load, adapter=adapter)

    pending = PendingInvalidations(cache)                # one per unit of work
    pending.recipe_updated(recipe_id, owner_id)          # during the transaction
    await pending.apply()                                # after COMMIT (discard() on rollback)

Values come back deeply read-only (shared by every caller): ``copy.copy`` one to change it.

Counters for metrics: ``cache.stats.snapshot()`` / ``cache.stats.subscribe(listener)``.
"""

from datalayer.cache import keys
from datalayer.cache.config import CacheConfig
from datalayer.cache.frozen import freeze
from datalayer.cache.invalidation import (
    PendingInvalidations,
    parse_lsn,
    recipe_updated_scopes,
    taste_profile_updated_scopes,
    user_updated_scopes,
)
from datalayer.cache.keys import TTL_SECONDS, CacheKey, DataType
from datalayer.cache.stats import CacheEvent, CacheStats, TypeCounters
from datalayer.cache.tiered import TieredCache
from datalayer.cache.values import Loaded
from datalayer.cache.warming import WarmItem, warm, warm_user

__all__ = [
    "TTL_SECONDS",
    "CacheConfig",
    "CacheEvent",
    "CacheKey",
    "CacheStats",
    "DataType",
    "Loaded",
    "PendingInvalidations",
    "TieredCache",
    "TypeCounters",
    "WarmItem",
    "freeze",
    "keys",
    "parse_lsn",
    "recipe_updated_scopes",
    "taste_profile_updated_scopes",
    "user_updated_scopes",
    "warm",
    "warm_user",
]
