"""Apply database migrations; invoked by a CloudFormation trigger on every deployment.

The event may name a ``revision`` (default ``head``). Credentials come from the RDS secret
named by ``DATABASE_SECRET_ARN``; they are URL-encoded by SQLAlchemy and never logged.
After upgrading, the login roles get their passwords from the secrets listed in
``LOGIN_ROLE_SECRET_ARNS``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from sqlalchemy.engine import URL

from datalayer.migrations.runner import upgrade
from lambdas.migrate.login_roles import set_login_passwords

logger = Logger(service="migrate")


def database_url(secret: dict[str, Any], sslmode: str = "require") -> str:
    """A psycopg URL for the RDS secret (``username``, ``password``, ``host``, ...)."""
    url = URL.create(
        "postgresql+psycopg",
        username=secret["username"],
        password=secret["password"],
        host=secret["host"],
        port=int(secret.get("port", 5432)),
        database=secret.get("dbname", "postgres"),
        query={"sslmode": sslmode},
    )
    return url.render_as_string(hide_password=False)


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any] | None, context: object) -> dict[str, Any]:
    """Migrate the database to ``event["revision"]`` and report the revisions applied."""
    revision = str((event or {}).get("revision", "head"))
    secret = parameters.get_secret(os.environ["DATABASE_SECRET_ARN"], transform="json", max_age=0)
    url = database_url(secret, os.environ.get("DATABASE_SSLMODE", "require"))
    applied = upgrade(url, revision)
    # Comma-separated ARNs of the login roles' secrets (see migration 0002).
    login_arns = [arn for arn in os.environ.get("LOGIN_ROLE_SECRET_ARNS", "").split(",") if arn]
    roles = set_login_passwords(
        url, [parameters.get_secret(arn, transform="json", max_age=0) for arn in login_arns]
    )
    logger.info(
        "migrations applied", extra={"revision": revision, "applied": applied, "roles": roles}
    )
    return {"revision": revision, "applied": applied, "login_roles": roles}
