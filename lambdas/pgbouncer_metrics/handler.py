"""Publish PgBouncer pool metrics (SHOW POOLS / SHOW STATS) as CloudWatch EMF, on a schedule.

The admin console is reached at ``PGBOUNCER_ADMIN_URL`` or, in AWS, at ``PGBOUNCER_HOST``
with the credentials of the RDS secret ``DATABASE_SECRET_ARN`` (its user is PgBouncer's
``stats_users``). Each invocation reaches one PgBouncer task behind the load balancer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from sqlalchemy.engine import URL

from datalayer.errors import ConfigurationError
from datalayer.observability.emf import EmfBackend
from datalayer.observability.emitter import metrics
from datalayer.observability.pgbouncer import ADMIN_DATABASE, collect, publish
from datalayer.settings import Settings, get_settings

logger = Logger(service="pgbouncer-metrics")


def admin_url(settings: Settings) -> str:
    """The admin console URL from the settings (or from the RDS secret and PgBouncer host)."""
    if settings.pgbouncer_admin_url is not None:
        return settings.pgbouncer_admin_url.get_secret_value()
    if settings.database_secret_arn is None or settings.pgbouncer_host is None:
        raise ConfigurationError(
            "set PGBOUNCER_ADMIN_URL, or DATABASE_SECRET_ARN and PGBOUNCER_HOST"
        )
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(settings.database_secret_arn, transform="json", max_age=300)
    return URL.create(
        "postgresql",
        username=secret["username"],
        password=secret["password"],
        host=settings.pgbouncer_host,
        port=settings.pgbouncer_port,
        database=ADMIN_DATABASE,
        query={"sslmode": settings.pgbouncer_sslmode},
    ).render_as_string(hide_password=False)


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any] | None, context: object) -> dict[str, Any]:
    """Collect the pools, publish them as EMF and return what was published."""
    settings = get_settings()
    metrics.configure(EmfBackend(), environment=settings.metrics_environment)
    pools = collect(admin_url(settings))
    publish(pools)
    metrics.flush()
    logger.info("pgbouncer pools published", extra={"pools": len(pools)})
    return {"pools": [asdict(pool) for pool in pools]}
