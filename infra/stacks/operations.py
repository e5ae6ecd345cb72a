"""Stateless: operational jobs and their workflows (GDPR, backup validation, maintenance).

It holds the workflow that restarts PgBouncer after its auth user's password rotates and
the queue-fed GDPR export and erasure jobs; the backup-validation and maintenance jobs land
here with their schedules.
It reads everything it needs by name or through SSM parameters, so it can be torn down
and re-created at any time.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.database.instances import primary_identifier
from infra.constructs.gdpr_storage import AUDIT_KEY_NAME
from infra.constructs.handoff import Keys, read
from infra.constructs.jobs.gdpr import GdprJobs
from infra.constructs.jobs.maintenance import MaintenanceJob
from infra.constructs.keys import DataKeys
from infra.constructs.network.imported import ImportedNetwork
from infra.constructs.pgbouncer.service import cluster_name, service_name
from infra.constructs.rotation_redeploy import RotationRedeploy
from infra.constructs.workflows.restore_drill import RestoreDrill


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
        network = ImportedNetwork(
            self, "Network", prefix=prefix, availability_zones=config.availability_zones,
            security_groups=("jobs",),
        )  # fmt: skip
        master_secret = secretsmanager.Secret.from_secret_complete_arn(
            self, "MasterSecret", read(self, prefix, Keys.secret("master"))
        )
        self.maintenance = MaintenanceJob(
            self, "Maintenance", prefix=prefix, environment_name=config.name,
            maintenance=config.maintenance, vpc=network.vpc,
            subnets=network.app_subnets, security_group=network.groups["jobs"],
            database_secret=master_secret, database_key=keys.database, logs_key=keys.logs,
        )  # fmt: skip
        self.restore_drill = RestoreDrill(
            self, "RestoreDrill", prefix=prefix, environment_name=config.name,
            drill=config.restore_drill, database_identifier=primary_identifier(prefix),
            subnet_group_name=read(self, prefix, Keys.DATABASE_SUBNET_GROUP),
            database_security_group_id=read(self, prefix, Keys.security_group("database")),
            log_retention_days=config.maintenance.log_retention_days, vpc=network.vpc,
            subnets=network.app_subnets, security_group=network.groups["jobs"],
            database_secret=master_secret,
            audit_key_secret=secretsmanager.Secret.from_secret_complete_arn(
                self, "AuditKeySecret", read(self, prefix, Keys.secret(AUDIT_KEY_NAME))
            ),
            database_key=keys.database, logs_key=keys.logs,
        )  # fmt: skip
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::W2001",
                reason="The imported VPC's id parameter is read for the VPC object the job "
                "functions need; Lambda itself only takes subnets and security groups.",
            )
        )
