"""Cache settings as one frozen value, built from :class:`~datalayer.settings.Settings`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from datalayer.cache.keys import TTL_SECONDS, DataType
from datalayer.errors import ConfigurationError
from datalayer.settings import Settings


@dataclass(frozen=True)
class CacheConfig:
    """What :class:`~datalayer.cache.TieredCache` needs; defaults match the settings'."""

    redis_url: str | None = None
    l1_max_bytes: int = 100 * 2**20
    l1_ttl_s: float = 300.0
    ttl_s: dict[DataType, int] = field(default_factory=lambda: dict(TTL_SECONDS))
    disabled_types: frozenset[DataType] = frozenset()
    ttl_jitter: float = 0.1
    redis_timeout_s: float = 0.1
    breaker_cooldown_s: float = 1.0
    heartbeat_s: float = 0.1
    fill_lock_s: float = 2.0
    retry_undelivered_s: float = 0.1
    key_prefix: str = "dl:"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> CacheConfig:
        """The config of ``settings``; ``CACHE_DISABLED_TYPES`` names must be data types."""
        disabled: set[DataType] = set()
        names = (part.strip() for part in settings.cache_disabled_types.split(","))
        for name in filter(None, names):
            try:
                disabled.add(DataType(name))
            except ValueError:
                raise ConfigurationError(
                    f"invalid configuration: CACHE_DISABLED_TYPES: unknown data type {name!r}"
                    f" (known: {', '.join(DataType)})"
                ) from None
        values: dict[str, object] = {
            "redis_url": settings.redis_url.get_secret_value() if settings.redis_url else None,
            "l1_max_bytes": settings.cache_l1_max_bytes,
            "l1_ttl_s": float(settings.cache_l1_ttl_s),
            "disabled_types": frozenset(disabled),
            "ttl_jitter": settings.cache_ttl_jitter,
            "redis_timeout_s": settings.cache_redis_timeout_ms / 1000,
            "breaker_cooldown_s": settings.cache_breaker_cooldown_ms / 1000,
            "heartbeat_s": settings.cache_heartbeat_ms / 1000,
            "fill_lock_s": settings.cache_fill_lock_ms / 1000,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def jittered(self, ttl_s: float) -> float:
        """``ttl_s`` shortened by a random fraction up to ``ttl_jitter`` (spreads expiries)."""
        return ttl_s * (1.0 - random.uniform(0.0, self.ttl_jitter))  # noqa: S311

    def l1_ttl(self, data_type: DataType) -> float:
        """An L1 entry's lifetime: the type's TTL capped by the L1 TTL, jittered."""
        return self.jittered(min(self.l1_ttl_s, self.ttl_s[data_type]))

    def __repr__(self) -> str:  # the URL may carry the AUTH token
        shown = "set" if self.redis_url else None
        return f"CacheConfig(redis_url={shown!r}, disabled_types={sorted(self.disabled_types)})"
