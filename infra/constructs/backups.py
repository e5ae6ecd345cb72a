"""AWS Backup: a KMS-encrypted vault and a weekly plan kept 12 weeks (seeds 001 and 003).

One owner per job: RDS owns the daily automated backups and point-in-time recovery
(``BackupRetentionPeriod`` = ``database.backup_retention_days``, 30 days in staging and
prod). The plan here takes *snapshot* recovery points only and never enables continuous
backup, because AWS Backup continuous backup would take over the instance's retention
setting and fight the RDS configuration on every deployment.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import EnvironmentConfig


class Backups(Construct):
    """The vault, the weekly plan and the selection of the primary database."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        database: rds.IDatabaseInstance,
    ) -> None:
        super().__init__(scope, construct_id)
        plan_config = config.backup
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=f"{config.prefix}-vault",
            encryption_key=key,
            block_recovery_point_deletion=plan_config.lock_recovery_points,
            removal_policy=RemovalPolicy.RETAIN
            if config.retain_on_delete
            else RemovalPolicy.DESTROY,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=f"{config.prefix}-weekly",
            backup_vault=self.vault,
        )
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="weekly-snapshot",
                schedule_expression=events.Schedule.expression(plan_config.weekly_schedule),
                delete_after=Duration.days(7 * plan_config.weekly_retention_weeks),
                enable_continuous_backup=False,
                start_window=Duration.hours(1),
                completion_window=Duration.hours(4),
            )
        )
        self.selection = self.plan.add_selection(
            "PrimaryDatabase",
            backup_selection_name=f"{config.prefix}-primary-database",
            resources=[backup.BackupResource.from_rds_database_instance(database)],
            allow_restores=False,
        )
