"""Stateless: PgBouncer on ECS Fargate and the job Lambdas (migrations on deploy)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.jobs.migrate import Jobs
from infra.constructs.keys import DataKeys
from infra.constructs.pgbouncer.service import PgBouncer
from infra.stacks.data import DataStack
from infra.stacks.network import NetworkStack


class ServicesStack(Stack):
    """Everything that runs code against the data stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkStack,
        data: DataStack,
        keys: DataKeys,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = network.network.vpc
        groups = network.security_groups
        database = data.database
        read_host = (
            database.replicas[0].db_instance_endpoint_address
            if database.replicas
            else database.primary.db_instance_endpoint_address
        )
        self.pgbouncer = PgBouncer(
            self,
            "PgBouncer",
            config=config,
            vpc=vpc,
            subnets=network.network.app_subnets,
            security_group=groups.pgbouncer,
            lb_security_group=groups.pgbouncer_lb,
            database_secret=database.secret,
            database_key=keys.database,
            primary_host=database.primary.db_instance_endpoint_address,
            replica_host=read_host,
            logs_key=keys.logs,
        )
        self.jobs = Jobs(
            self,
            "Jobs",
            config=config,
            vpc=vpc,
            subnets=network.network.app_subnets,
            security_group=groups.jobs,
            database_secret=database.secret,
            database_key=keys.database,
            logs_key=keys.logs,
        )
