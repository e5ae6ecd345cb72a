"""Database credentials from AWS Secrets Manager (``DATABASE_SECRET_ARN``).

The secret is the JSON RDS writes and rotates (``username``, ``password``, ``host``,
``port``, ``dbname``). It is fetched once and cached; when the server rejects the password
(the secret was rotated since), :func:`install_credentials` fetches it again once and
retries the connection, so a rotation does not take the application down.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from datalayer.errors import (
    ConfigurationError,
    UnavailableError,
    UnavailableReason,
    connection_failure_reason,
)
from datalayer.settings import Settings

DEFAULT_SSLMODE = "require"


class RdsSecret(BaseModel):
    """The fields of an RDS credentials secret that the datalayer uses."""

    username: str
    password: SecretStr
    host: str
    port: int = 5432
    dbname: str = "postgres"

    def url(self, sslmode: str = DEFAULT_SSLMODE) -> str:
        """A ``postgresql+psycopg`` URL with the credentials URL-encoded (contains the
        password: never log it)."""
        return URL.create(
            "postgresql+psycopg",
            username=self.username,
            password=self.password.get_secret_value(),
            host=self.host,
            port=self.port,
            database=self.dbname,
            query={"sslmode": sslmode},
        ).render_as_string(hide_password=False)


@dataclass
class SecretsManagerCredentials:
    """The cached RDS secret behind ``secret_arn``; thread-safe."""

    secret_arn: str
    client: Any = None
    fetches: int = field(default=0, init=False)
    _cached: RdsSecret | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def current(self) -> RdsSecret:
        """The cached secret, fetched on first use."""
        with self._lock:
            if self._cached is None:
                self._cached = self._fetch()
            return self._cached

    def refresh(self, rejected: RdsSecret | None = None) -> RdsSecret:
        """Fetch the secret again (after a rotation) and cache it.

        With ``rejected`` (the credentials the server refused), a secret another
        connection has already re-fetched is returned as is: a burst of rejected
        connections costs one fetch, not one each.
        """
        with self._lock:
            if rejected is None or self._cached is None or self._cached is rejected:
                self._cached = self._fetch()
            return self._cached

    def url(self, sslmode: str | None = None) -> str:
        """URL of the database the secret names (see :meth:`RdsSecret.url`)."""
        return self.current().url(sslmode or DEFAULT_SSLMODE)

    def _fetch(self) -> RdsSecret:
        data = read_secret_json(self.secret_arn, self._client())
        self.fetches += 1
        try:
            return RdsSecret.model_validate(data)
        except (ValidationError, ValueError, KeyError, TypeError):
            raise ConfigurationError(
                "DATABASE_SECRET_ARN: the secret is not RDS credentials JSON "
                "(username, password, host, port, dbname)"
            ) from None

    def _client(self) -> Any:
        if self.client is None:
            import boto3

            self.client = boto3.client("secretsmanager")
        return self.client


def read_secret_json(secret_arn: str, client: Any = None) -> dict[str, Any]:
    """The JSON object stored in a Secrets Manager secret (failures typed, never echoed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    try:
        response = client.get_secret_value(SecretId=secret_arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        raise UnavailableError(
            f"credentials could not be read from Secrets Manager ({code})",
            reason=UnavailableReason.CREDENTIALS_UNAVAILABLE,
        ) from None
    except BotoCoreError:
        raise UnavailableError(
            "credentials could not be read from Secrets Manager",
            reason=UnavailableReason.CREDENTIALS_UNAVAILABLE,
        ) from None
    try:
        data = json.loads(response["SecretString"])
    except (ValueError, KeyError, TypeError):
        data = None
    if not isinstance(data, dict):
        raise ConfigurationError("a secret does not hold a JSON object") from None
    return data


@lru_cache(maxsize=8)
def _provider_for(secret_arn: str) -> SecretsManagerCredentials:
    return SecretsManagerCredentials(secret_arn)


def credentials_provider(settings: Settings) -> SecretsManagerCredentials | None:
    """The process-wide cached credentials for ``DATABASE_SECRET_ARN``; ``None`` when unset."""
    if settings.database_secret_arn is None:
        return None
    return _provider_for(settings.database_secret_arn)


def secret_database_url(settings: Settings) -> str:
    """The primary's URL built from ``DATABASE_SECRET_ARN`` (sslmode ``DATABASE_SSLMODE``)."""
    provider = credentials_provider(settings)
    if provider is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    return provider.url(settings.database_sslmode)


def install_credentials(engine: AsyncEngine, provider: SecretsManagerCredentials) -> None:
    """Log every new connection of ``engine`` in with the secret's current user and password.

    Host, port and database stay those of the engine's URL, so one secret serves the
    primary and its replicas. A rejected password triggers one fresh fetch and one retry.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        used = provider.current()
        cparams.update(user=used.username, password=used.password.get_secret_value())
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            if connection_failure_reason(exc) is not UnavailableReason.AUTHENTICATION_FAILED:
                raise
            fresh = provider.refresh(rejected=used)
            if (fresh.username, fresh.password) == (used.username, used.password):
                raise
            cparams.update(user=fresh.username, password=fresh.password.get_secret_value())
            return dialect.connect(*cargs, **cparams)


def audit_hash_key(settings: Settings) -> str:
    """The audit HMAC key: the ``key`` field of the secret ``AUDIT_HASH_KEY_SECRET_ARN`` when
    set (deployed jobs), else ``AUDIT_HASH_KEY``."""
    if settings.audit_hash_key_secret_arn is None:
        return settings.audit_hash_key.get_secret_value()
    key = read_secret_json(settings.audit_hash_key_secret_arn).get("key")
    if not isinstance(key, str) or len(key) < 16:
        raise ConfigurationError("AUDIT_HASH_KEY_SECRET_ARN: the secret has no usable 'key'")
    return key
