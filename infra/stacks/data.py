"""Stateful: RDS PostgreSQL (primary + replicas), the Valkey cache and AWS Backup."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.backups import Backups
from infra.constructs.cache import Cache
from infra.constructs.database.instances import Database
from infra.constructs.keys import DataKeys
from infra.stacks.network import NetworkStack


class DataStack(Stack):
    """Database, cache and backups of one environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkStack,
        keys: DataKeys,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = network.network.vpc
        groups = network.security_groups
        self.database = Database(
            self,
            "Database",
            config=config,
            vpc=vpc,
            data_subnets=network.network.data_subnets,
            jobs_subnets=network.network.app_subnets,
            security_group=groups.database,
            jobs_security_group=groups.jobs,
            key=keys.database,
            logs_key=keys.logs,
        )
        self.cache = Cache(
            self,
            "Cache",
            config=config,
            subnet_ids=vpc.select_subnets(subnet_group_name="data").subnet_ids,
            security_group=groups.cache,
            key=keys.cache,
            logs_key=keys.logs,
        )
        self.backups = Backups(
            self, "Backups", config=config, key=keys.backups, database=self.database.primary
        )
