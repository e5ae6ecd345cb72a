"""Connection management: engines, sessions, the unit of work, credentials and retries."""

from datalayer.db.credentials import (
    RdsSecret,
    SecretsManagerCredentials,
    credentials_provider,
    install_credentials,
    secret_database_url,
)
from datalayer.db.engine import Database, async_url, create_engine_for, session_timeouts
from datalayer.db.retry import DEFAULT_READ_RETRY, ReadRetryPolicy, idempotent_read

__all__ = [
    "DEFAULT_READ_RETRY",
    "Database",
    "RdsSecret",
    "ReadRetryPolicy",
    "SecretsManagerCredentials",
    "async_url",
    "create_engine_for",
    "credentials_provider",
    "idempotent_read",
    "install_credentials",
    "secret_database_url",
    "session_timeouts",
]
