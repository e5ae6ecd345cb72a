"""Stateless: operational jobs and their workflows (GDPR, backup validation, maintenance).

It holds the workflow that restarts PgBouncer after its auth user's password rotates and
the queue-fed GDPR export and erasure jobs; the backup-validation and maintenance jobs land
here with their schedules.
It reads everything it needs by name or through SSM parameters, so it can be torn down
and re-created at any time.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.handoff import Keys, read
from infra.constructs.jobs.gdpr import GdprJobs
from infra.constructs.keys import DataKeys
from infra.constructs.pgbouncer.service import cluster_name, service_name
from infra.constructs.rotation_redeploy import RotationRedeploy


class OperationsStack(Stack):
    """Jobs, workflows and schedules that operate the data tier."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        keys: DataKeys,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.prefix
        self.pgbouncer_redeploy = RotationRedeploy(
            self,
            "PgBouncerRedeploy",
            prefix=prefix,
            secret_arn=read(self, prefix, Keys.secret("pgbouncer")),
            cluster_name=cluster_name(prefix),
            service_name=service_name(prefix),
            log_retention_days=config.pgbouncer.log_retention_days,
            logs_key=keys.logs,
        )
        self.gdpr = GdprJobs(
            self, "Gdpr", prefix=prefix, environment_name=config.name,
            availability_zones=config.availability_zones, exports_key=keys.exports,
            database_key=keys.database, logs_key=keys.logs,
            log_retention_days=config.database.log_retention_days,
        )  # fmt: skip
