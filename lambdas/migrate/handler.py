"""Apply database migrations; invoked by a CloudFormation trigger on every deployment.

The event may name a ``revision`` (default ``head``). Configuration comes from the settings
layer: credentials from the RDS secret named by ``DATABASE_SECRET_ARN`` (fetched fresh on
every invocation, so a rotated password is picked up), sslmode from ``DATABASE_SSLMODE``.
The URL is built by SQLAlchemy (credentials URL-encoded) and never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from datalayer.db.credentials import credentials_provider
from datalayer.errors import ConfigurationError
from datalayer.migrations.runner import upgrade
from datalayer.settings import load_settings

logger = Logger(service="migrate")


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any] | None, context: object) -> dict[str, Any]:
    """Migrate the database to ``event["revision"]`` and report the revisions applied."""
    revision = str((event or {}).get("revision", "head"))
    settings = load_settings()
    credentials = credentials_provider(settings)
    if credentials is None:
        raise ConfigurationError("DATABASE_SECRET_ARN: not set")
    secret = credentials.refresh()
    applied = upgrade(
        secret.url(settings.database_sslmode or "require"), revision, settings=settings
    )
    logger.info("migrations applied", extra={"revision": revision, "applied": applied})
    return {"revision": revision, "applied": applied}
