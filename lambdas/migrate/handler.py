"""Apply database migrations; invoked by a CloudFormation trigger on every deployment.

The event may name a ``revision`` (default ``head``). Configuration comes from the settings
layer: credentials from the RDS secret named by ``DATABASE_SECRET_ARN`` (fetched fresh on
every invocation, so a rotated password is picked up), sslmode from ``DATABASE_SSLMODE``.
The URL is built by SQLAlchemy (credentials URL-encoded) and never logged. After upgrading,
the login roles get their passwords from the secrets in ``LOGIN_ROLE_SECRET_ARNS``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from datalayer.db.credentials import credentials_provider, read_secret_json
from datalayer.errors import ConfigurationError
from datalayer.migrations.runner import upgrade
from datalayer.settings import load_settings
from lambdas.migrate.login_roles import set_login_passwords

logger = Logger(service="migrate")


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any] | None, context: object) -> dict[str, Any]:
    """Migrate the database to ``event["revision"]`` and report the revisions applied."""
    revision = str((event or {}).get("revision", "head"))
    settings = load_settings()
    credentials = credentials_provider(settings)
    if credentials is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    url = credentials.refresh().url(settings.database_sslmode or "require")
    applied = upgrade(url, revision, settings=settings)
    roles = set_login_passwords(
        url, [read_secret_json(arn) for arn in settings.login_role_secret_arn_list()]
    )
    logger.info(
        "migrations applied", extra={"revision": revision, "applied": applied, "roles": roles}
    )
    return {"revision": revision, "applied": applied, "login_roles": roles}
