"""Connection management: engines, sessions, the unit of work, read routing, credentials
and retries."""

from datalayer.db.credentials import (
    RdsSecret,
    SecretsManagerCredentials,
    credentials_provider,
    install_credentials,
    secret_database_url,
)
from datalayer.db.engine import Database, async_url, create_engine_for, session_timeouts
from datalayer.db.retry import DEFAULT_READ_RETRY, ReadRetryPolicy, idempotent_read
from datalayer.db.routing import ConsistencyScope, ReplicaStatus, RoutingPolicy, consistency_scope

__all__ = [
    "DEFAULT_READ_RETRY",
    "ConsistencyScope",
    "Database",
    "RdsSecret",
    "ReadRetryPolicy",
    "ReplicaStatus",
    "RoutingPolicy",
    "SecretsManagerCredentials",
    "async_url",
    "consistency_scope",
    "create_engine_for",
    "credentials_provider",
    "idempotent_read",
    "install_credentials",
    "secret_database_url",
    "session_timeouts",
]
