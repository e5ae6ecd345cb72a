"""Runtime configuration: the only module that reads environment variables.

Every setting has an environment variable named after the seeds (``DATABASE_URL``,
``REDIS_URL``, ``DATABASE_POOL_SIZE`` ...). Invalid values fail fast with a
:class:`~datalayer.errors.ConfigurationError` that names the variable; connection URLs are
held as secrets so a password never reaches a log line, a repr or an error message.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from datalayer.errors import ConfigurationError

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class Settings(BaseSettings):
    """Typed view of the environment. Build it with :func:`get_settings`."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, validate_default=True
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="Primary (read/write) PostgreSQL URL. Unset: the embedded PostgreSQL is used.",
    )
    database_read_url: SecretStr | None = Field(
        default=None, description="Read replica URL. Unset: reads go to the primary."
    )
    redis_url: SecretStr | None = Field(
        default=None, description="Redis URL for the L2 cache. Unset: L1 only."
    )
    database_pool_size: PositiveInt = 20
    database_max_overflow: NonNegativeInt = 30
    database_pool_timeout: PositiveInt = Field(default=30, description="Seconds.")
    database_pool_recycle: PositiveInt = Field(default=3600, description="Seconds.")
    database_echo: bool = False
    database_statement_timeout_ms: NonNegativeInt = Field(
        default=30_000, description="Per-statement timeout; 0 disables it."
    )
    database_pgbouncer: bool = Field(
        default=False,
        description="Pooler-safe mode (no server-side prepared statements) for PgBouncer < 1.22.",
    )
    database_app_role: str = Field(
        default="recipe_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="NOLOGIN role that migrations grant the application's privileges to.",
    )
    database_secret_arn: str | None = Field(
        default=None, description="Secrets Manager ARN of the RDS credentials (Lambdas only)."
    )
    embedding_dim: Annotated[int, Field(ge=1, le=16_000)] = 1536
    hnsw_ef_search: Annotated[int, Field(ge=1, le=1000)] = 120
    datalayer_home: Path = Field(
        default=Path(".datalayer"),
        description="Where the embedded PostgreSQL keeps its data directory and state.",
    )
    audit_hash_key: SecretStr = Field(
        default=SecretStr("local-development-only-audit-key"),
        min_length=16,
        description="HMAC key that turns user ids into audit-log subject hashes.",
    )

    # --- Cache (datalayer/cache): L1 in process, L2 Redis at REDIS_URL -------------------
    cache_l1_max_bytes: PositiveInt = Field(
        default=100 * 2**20, description="Bound of the in-process LRU (serialized bytes)."
    )
    cache_l1_ttl_s: PositiveInt = Field(
        default=300, description="Longest time an entry stays in the in-process cache."
    )
    cache_disabled_types: str = Field(
        default="",
        description="Comma-separated data types (user_profile, search_results ...) not cached.",
    )
    cache_ttl_jitter: Annotated[float, Field(ge=0.0, le=0.5)] = Field(
        default=0.1, description="TTLs are shortened by a random fraction up to this."
    )
    cache_redis_timeout_ms: PositiveInt = Field(
        default=100, description="Connect, socket and per-operation timeout for Redis."
    )
    cache_breaker_cooldown_ms: PositiveInt = Field(
        default=1000, description="After a Redis failure, how long the cache skips Redis."
    )
    cache_heartbeat_ms: PositiveInt = Field(
        default=100, description="Ping interval of the invalidation subscriber (L1 coherence)."
    )
    cache_fill_lock_ms: PositiveInt = Field(
        default=2000, description="Cross-process single-flight lock on a missed key."
    )

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_REDIS_SCHEMES):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides) into :class:`Settings`.

    Raises :class:`ConfigurationError` naming each bad variable; the offending value is
    never echoed, because it may be a credential.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{variable}: {error['msg']}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return load_settings()
