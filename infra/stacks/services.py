"""Stateless: PgBouncer on ECS Fargate and the migration job (runs on every deployment)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.handoff import Keys, publish, read
from infra.constructs.jobs.migrate import Jobs
from infra.constructs.keys import DataKeys
from infra.constructs.network.imported import ImportedNetwork
from infra.constructs.pgbouncer.images import ImageSource
from infra.constructs.pgbouncer.service import PgBouncer


class ServicesStack(Stack):
    """Everything that runs code against the data stack; reads it through SSM parameters."""

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
        network = ImportedNetwork(
            self, "Network", prefix=prefix, availability_zones=config.availability_zones,
            security_groups=("pgbouncer", "pgbouncer_lb", "jobs"),
        )  # fmt: skip

        secrets: dict[str, secretsmanager.ISecret] = {}

        def secret(name: str) -> secretsmanager.ISecret:
            if name not in secrets:
                secrets[name] = secretsmanager.Secret.from_secret_complete_arn(
                    self, f"{name.capitalize()}Secret", read(self, prefix, Keys.secret(name))
                )
            return secrets[name]

        self.images = ImageSource(self, "Images", rules=config.pull_through)
        self.pgbouncer = PgBouncer(
            self,
            "PgBouncer",
            prefix=prefix,
            pool=config.pgbouncer,
            database_name=config.database.database_name,
            auth_user=config.database.pgbouncer_auth_username,
            retain=config.retain_on_delete,
            images=self.images,
            vpc=network.vpc,
            subnets=network.app_subnets,
            security_group=network.groups["pgbouncer"],
            lb_security_group=network.groups["pgbouncer_lb"],
            auth_secret=secret("pgbouncer"),
            database_key=keys.database,
            logs_key=keys.logs,
        )
        self.jobs = Jobs(
            self,
            "Jobs",
            prefix=prefix,
            log_retention_days=config.database.log_retention_days,
            retain=config.retain_on_delete,
            vpc=network.vpc,
            subnets=network.app_subnets,
            security_group=network.groups["jobs"],
            database_secret=secret("master"),
            login_secrets=[secret("app"), secret("pgbouncer")],
            database_key=keys.database,
            logs_key=keys.logs,
        )
        publish(
            self, prefix, Keys.PGBOUNCER_LB, self.pgbouncer.load_balancer.load_balancer_arn,
            "PgBouncer NLB ARN (for its CloudWatch metrics)",
        )  # fmt: skip
        publish(
            self, prefix, Keys.PGBOUNCER_TARGETS,
            self.pgbouncer.target_group.target_group_arn,
            "PgBouncer target group ARN (for its CloudWatch metrics)",
        )  # fmt: skip
