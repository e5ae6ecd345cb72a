"""Stateful: RDS PostgreSQL (primary + replicas), the Valkey cache, AWS Backup and the GDPR
exports bucket with the audit key."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.backups import Backups
from infra.constructs.cache import Cache
from infra.constructs.database.instances import Database
from infra.constructs.database.replicas import publish_endpoints
from infra.constructs.gdpr_storage import GdprStorage
from infra.constructs.handoff import Keys, publish
from infra.constructs.keys import DataKeys
from infra.constructs.network.imported import ImportedNetwork
from infra.stacks.backup_copy import copy_vault_arn


class DataStack(Stack):
    """Database, cache and backups of one environment; hands its endpoints on through SSM."""

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
            security_groups=("database", "cache", "jobs"), data_subnets=True,
        )  # fmt: skip
        self.database = Database(
            self,
            "Database",
            prefix=prefix,
            db=config.database,
            retain=config.retain_on_delete,
            vpc=network.vpc,
            data_subnets=network.data_subnets,
            jobs_subnets=network.app_subnets,
            security_group=network.groups["database"],
            jobs_security_group=network.groups["jobs"],
            key=keys.database,
            logs_key=keys.logs,
        )
        self.cache = Cache(
            self,
            "Cache",
            prefix=prefix,
            cache=config.cache,
            retain=config.retain_on_delete,
            subnet_ids=network.vpc.select_subnets(subnet_group_name="data").subnet_ids,
            security_group=network.groups["cache"],
            key=keys.cache,
            logs_key=keys.logs,
        )
        self.backups = Backups(
            self, "Backups", prefix=prefix, plan_config=config.backup, key=keys.backups,
            database=self.database.primary,
            copy_vault_arn=copy_vault_arn(config) if config.backup.cross_region_copy.enabled
            else None,
        )  # fmt: skip
        self.gdpr = GdprStorage(
            self, "Gdpr", prefix=prefix, exports_key=keys.exports, secrets_key=keys.database,
            retain=config.retain_on_delete,
        )  # fmt: skip
        publish_endpoints(self, prefix, self.database)
        for name, login in self.database.logins.items():
            publish(self, prefix, Keys.secret(name), login.secret.secret_arn, f"{name} secret")
        publish(self, prefix, Keys.secret("cache"), self.cache.auth_token.secret_arn, "cache AUTH")
        publish(
            self, prefix, Keys.DATABASE_SUBNET_GROUP, self.database.subnet_group.subnet_group_name,
            "database subnet group (the restore drill restores into it)",
        )  # fmt: skip
