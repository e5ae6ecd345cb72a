"""Runtime configuration: the only module that reads environment variables.

Every setting has an environment variable named after the seeds (``DATABASE_URL``,
``REDIS_URL``, ``DATABASE_POOL_SIZE`` ...). Invalid values fail fast with a
:class:`~datalayer.errors.ConfigurationError` that names the variable; connection URLs are
held as secrets so a password never reaches a log line, a repr or an error message.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from datalayer.errors import ConfigurationError

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

# In Lambda one container serves one invocation at a time: a pool per engine of two
# connections is enough, and 20 + 30 per container would exhaust max_connections at scale.
LAMBDA_POOL_DEFAULTS = {"database_pool_size": 2, "database_max_overflow": 0}
_APP_ROLE_RULE = (
    "must be a lowercase PostgreSQL identifier: a letter or underscore, then at most 62 "
    "lowercase letters, digits or underscores"
)

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
    database_connect_timeout_s: Annotated[int, Field(ge=1, le=300)] = Field(
        default=5, description="Seconds to wait for a connection before UnavailableError."
    )
    database_idle_in_transaction_timeout_ms: NonNegativeInt = Field(
        default=60_000,
        description="The server ends a session idle inside a transaction this long; 0 disables.",
    )
    database_lock_timeout_ms: PositiveInt = Field(
        default=2_000,
        description="Migrations: give up waiting for a table lock after this long, then retry.",
    )
    database_lock_retries: NonNegativeInt = Field(
        default=5, description="Migrations: retries after a lock timeout before failing."
    )
    database_read_retry_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=3, description="Attempts (first try included) of an idempotent read."
    )
    database_read_retry_backoff_ms: PositiveInt = Field(
        default=100, description="First backoff of a retried read; doubles, with jitter."
    )
    database_read_retry_max_backoff_ms: PositiveInt = Field(
        default=2_000, description="Upper bound of one backoff of a retried read."
    )
    database_sslmode: SslMode | None = Field(
        default=None,
        description="sslmode for URLs built from DATABASE_SECRET_ARN (unset: require).",
    )
    aws_lambda_function_name: str | None = Field(
        default=None, description="Set by AWS Lambda; selects the Lambda pool defaults."
    )
    database_pgbouncer: bool = Field(
        default=False,
        description="Pooler-safe mode (no server-side prepared statements) for PgBouncer < 1.22.",
    )
    database_app_role: str = Field(
        default="recipe_app",
        description="NOLOGIN role that migrations grant the application's privileges to.",
    )
    login_role_secret_arns: str = Field(
        default="",
        description="Comma-separated Secrets Manager ARNs of the login roles' credentials "
        "(the migration Lambda sets those roles' passwords).",
    )
    database_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager ARN of the RDS credentials JSON; user and password "
        "always come from it when set.",
    )
    embedding_dim: Annotated[int, Field(ge=1, le=16_000)] = 1536
    hnsw_ef_search: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=120,
        description="Set in the environment: every search uses it. Unset: the value stored by "
        "`vector tune`, else this default.",
    )
    vector_recall_sample_rate: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.001,
        description="Share of similarity searches re-run exactly in the background to publish "
        "VectorSearchRecall; 0 disables.",
    )
    vector_tune_target_recall: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.95,
        description="Recall@k the vector_tune maintenance task tunes ef_search for.",
    )
    vector_tune_min_ef_search: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=120,
        description="Smallest ef_search vector tune stores: recall measured with stored rows "
        "as queries runs above fresh queries' recall, so tuning raises ef_search on hard data "
        "but does not lower it below this floor.",
    )
    datalayer_home: Path = Field(
        default=Path(".datalayer"),
        description="Where the embedded PostgreSQL keeps its data directory and state.",
    )
    audit_hash_key: SecretStr = Field(
        default=SecretStr("local-development-only-audit-key"),
        min_length=16,
        description="HMAC key that turns user ids into audit-log subject hashes.",
    )

    # --- Maintenance (python -m datalayer maintenance run, the maintenance Lambda) -----------
    system_log_partitions_ahead: Annotated[int, Field(ge=1, le=24)] = Field(
        default=3, description="Monthly system_logs partitions kept ready beyond this month."
    )
    system_log_retention_months: Annotated[int, Field(ge=1, le=120)] = Field(
        default=12,
        description="system_logs partitions wholly older than this many months are dropped.",
    )
    index_bloat_max_percent: Annotated[int, Field(ge=10, le=90)] = Field(
        default=40,
        description="A B-tree index with more free space than this (and over 1 MB) is rebuilt.",
    )

    # --- Bulk loads of embeddings (EmbeddingRepository.bulk_load) -------------------------------
    embedding_index_build_memory_mb: Annotated[int, Field(ge=64, le=65_536)] = Field(
        default=1024,
        description="Most maintenance_work_mem a vector index rebuild after a bulk load gets.",
    )
    embedding_index_build_workers: Annotated[int, Field(ge=0, le=32)] = Field(
        default=2,
        description="max_parallel_maintenance_workers of that rebuild.",
    )

    # --- Observability: query monitor, metrics backend, logs ---------------------------------
    database_slow_query_ms: PositiveInt = Field(
        default=1000, description="Statements slower than this are logged (fingerprint only)."
    )
    metrics_backend: Literal["none", "prometheus", "emf"] = Field(
        default="none",
        description="Where metrics go: Prometheus (containers), CloudWatch EMF (Lambdas), or off.",
    )
    metrics_environment: str = Field(
        default="dev",
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        description="Value of the Environment dimension on every metric (dev, staging, prod).",
    )
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=0, description="Port of the Prometheus /metrics endpoint; 0 serves none."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    pgbouncer_admin_url: SecretStr | None = Field(
        default=None,
        description="PgBouncer admin console URL (database pgbouncer, a stats_users member).",
    )
    pgbouncer_host: str | None = Field(
        default=None,
        description="PgBouncer endpoint; with DATABASE_SECRET_ARN it builds the admin URL.",
    )
    pgbouncer_port: Annotated[int, Field(ge=1, le=65535)] = 6432
    pgbouncer_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = (
        "require"
    )
    # --- GDPR jobs in AWS (lambdas/gdpr) -------------------------------------------------------
    exports_bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="S3 bucket the export job writes finished exports to (AWS only).",
    )
    exports_kms_key_id: str | None = Field(
        default=None, description="KMS key (ARN or id) the exports are encrypted with in S3."
    )
    exports_prefix: str = Field(
        default="exports/",
        pattern=r"^([A-Za-z0-9_-]+/)*$",
        description="Key prefix of the exports in EXPORTS_BUCKET (empty or ending with /).",
    )
    audit_hash_key_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager ARN of a JSON secret whose 'key' is the audit HMAC key "
        "(the GDPR Lambdas read it there instead of AUDIT_HASH_KEY).",
    )
    erasure_batch_size: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1000, description="Rows the erasure job deletes per transaction."
    )
    # ------------------------------------------------------------------------------------------
    # --- Restore drill (lambdas/backup_validation) -------------------------------------------
    restore_drill_status_parameter: str | None = Field(
        default=None,
        description="SSM parameter holding the time of the last restore drill that passed.",
    )
    # ------------------------------------------------------------------------------------------

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

    @model_validator(mode="before")
    @classmethod
    def _lambda_pool_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = {str(key).lower() for key in data}
        if "aws_lambda_function_name" in given:
            for name, value in LAMBDA_POOL_DEFAULTS.items():
                if name not in given:
                    data = {**data, name: value}
        return data

    def login_role_secret_arn_list(self) -> list[str]:
        """``LOGIN_ROLE_SECRET_ARNS`` as a list."""
        return [arn.strip() for arn in self.login_role_secret_arns.split(",") if arn.strip()]

    @field_validator("database_url", "database_read_url", "pgbouncer_admin_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        raw = value.get_secret_value()
        if not raw.startswith(_POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        try:
            make_url(raw).port  # noqa: B018 - parsing the port is the check
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        except Exception:
            raise ValueError("is not a valid postgresql:// URL") from None
        return value

    @field_validator("database_app_role")
    @classmethod
    def _role_name(cls, value: str) -> str:
        # Spelled out in words: a regex in the message loses its brackets in rich terminals.
        if not _ROLE_NAME.fullmatch(value):
            raise ValueError(_APP_ROLE_RULE)
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
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{variable}: {message}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return load_settings()
