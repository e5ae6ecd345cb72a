"""AWS Backup: a KMS-encrypted vault and a weekly plan kept 12 weeks (seeds 001 and 003).

One owner per job: RDS owns the daily automated backups and point-in-time recovery
(``BackupRetentionPeriod`` = ``database.backup_retention_days``, 30 days in staging and
prod). The plan here takes *snapshot* recovery points only and never enables continuous
backup, because AWS Backup continuous backup would take over the instance's retention
setting and fight the RDS configuration on every deployment.

The vault is protected by Backup Vault Lock within the configured retention bounds:
governance mode in dev and staging, compliance mode in prod.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import BackupConfig

COMPLIANCE_GRACE_DAYS = 3
"""Days a compliance-mode lock can still be removed after it is set (the minimum is 3)."""


class Backups(Construct):
    """The vault, the weekly plan and the selection of the primary database."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        plan_config: BackupConfig,
        key: kms.IKey,
        database: rds.IDatabaseInstance,
        copy_vault_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudFormation requires a name; the first block of the stack's id makes it unique
        # per stack creation, so a re-created stack never collides with the retained vault.
        stack_guid = Fn.select(2, Fn.split("/", Aws.STACK_ID))
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=Fn.join(
                "-", [f"{prefix}-vault", Fn.select(0, Fn.split("-", stack_guid))]
            ),
            encryption_key=key,
            lock_configuration=vault_lock(plan_config),
            # Retained in every environment: CloudFormation cannot delete a vault that holds
            # recovery points, so a dev teardown would fail. Without a fixed name, the
            # re-created stack gets a new vault; the old one empties as its points expire.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=f"{prefix}-weekly",
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
                copy_actions=self._copy_actions(copy_vault_arn, plan_config),
            )
        )
        self.selection = self.plan.add_selection(
            "PrimaryDatabase",
            backup_selection_name=f"{prefix}-primary-database",
            resources=[backup.BackupResource.from_rds_database_instance(database)],
            allow_restores=False,
        )

    def _copy_actions(
        self, copy_vault_arn: str | None, plan_config: BackupConfig
    ) -> list[backup.BackupPlanCopyActionProps] | None:
        """Each weekly point is copied to the other region's vault and kept as long there."""
        if copy_vault_arn is None:
            return None
        return [
            backup.BackupPlanCopyActionProps(
                destination_backup_vault=backup.BackupVault.from_backup_vault_arn(
                    self, "CopyVault", copy_vault_arn
                ),
                delete_after=Duration.days(7 * plan_config.weekly_retention_weeks),
            )
        ]


def vault_lock(plan_config: BackupConfig) -> backup.LockConfiguration:
    """Backup Vault Lock: governance (removable by privileged users) or compliance.

    Compliance mode is set by a grace period (``changeable_for``): after it, nobody, the
    root user included, can remove the lock or shorten the retention bounds.
    """
    changeable_for = (
        Duration.days(COMPLIANCE_GRACE_DAYS)
        if plan_config.vault_lock_mode == "compliance"
        else None
    )
    return backup.LockConfiguration(
        min_retention=Duration.days(plan_config.lock_min_retention_days),
        max_retention=Duration.days(plan_config.lock_max_retention_days),
        changeable_for=changeable_for,
    )
