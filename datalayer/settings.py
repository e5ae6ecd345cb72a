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

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from datalayer.errors import ConfigurationError

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


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
        default=None,
        description="One read replica's URL (shorthand for a one-entry DATABASE_READ_URLS).",
    )
    redis_url: SecretStr | None = Field(
        default=None, description="Redis URL for the L2 cache. Unset: L1 only."
    )
    # -- read replicas and routing (datalayer/db/routing.py) ----------------------------------
    database_read_urls: SecretStr | None = Field(
        default=None,
        description=(
            "Comma-separated read replica URLs (percent-encode a comma in a password as %2C). "
            "Unset, and DATABASE_READ_URL unset: reads go to the primary. Setting both is an error."
        ),
    )
    database_replica_max_lag_s: PositiveFloat = Field(
        default=5.0, description="A replica further behind than this serves no reads."
    )
    database_read_your_writes_wait_s: PositiveFloat = Field(
        default=10.0,
        description=(
            "After a write, reads in the same context go to the primary until a replica has "
            "replayed it, for at most this long."
        ),
    )
    database_replica_probe_interval_s: PositiveFloat = Field(
        default=1.0,
        description="How often (at most, and only while reads come) replicas are probed.",
    )
    database_replica_probe_timeout_s: PositiveFloat = Field(
        default=2.0, description="A replica probe slower than this marks the replica down."
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

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("database_read_urls")
    @classmethod
    def _postgres_urls(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            urls = _split_urls(value.get_secret_value())
            if not urls or not all(url.startswith(_POSTGRES_SCHEMES) for url in urls):
                raise ValueError("must be a comma-separated list of postgresql:// URLs")
        return value

    @model_validator(mode="after")
    def _one_replica_setting(self) -> Settings:
        if self.database_read_url is not None and self.database_read_urls is not None:
            raise ValueError("set DATABASE_READ_URLS or DATABASE_READ_URL, not both")
        return self

    def replica_urls(self) -> list[str]:
        """The read replicas' URLs, from DATABASE_READ_URLS or DATABASE_READ_URL (may be empty)."""
        if self.database_read_urls is not None:
            return _split_urls(self.database_read_urls.get_secret_value())
        if self.database_read_url is not None:
            return [self.database_read_url.get_secret_value()]
        return []

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(_REDIS_SCHEMES):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


def _split_urls(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


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
