"""The monthly restore drill: AWS Backup restore testing plus a validation Lambda.

Restore testing restores the newest weekly snapshot of the primary to a temporary instance
(``awsbackup-restore-test-*``, the configured small class, the isolated data subnets, the
database security group), then deletes it when the validation window ends, whether the
validation passed, failed, timed out or never ran: no failure path can leave it behind.
The restore job's completion event starts the validation Lambda (``lambdas/backup_validation``),
which sets a fresh password on the temporary instance, re-applies the live erasure ledger,
runs the datalayer's checks, publishes RTO, RPO and the result, and reports the verdict
with ``PutRestoreValidationResult``. A daily schedule makes the same function publish the
age of the last drill that passed, so an alarm sees drills that stop passing or running.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Fn, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config.operations import RestoreDrillConfig
from infra.constructs.handoff import parameter_name
from infra.constructs.jobs.function import JobFunction
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager, secret_reference

RESTORE_TEST_INSTANCES = "awsbackup-restore-test-*"
"""Restore testing names the instances it creates with this prefix."""
VALIDATION_TIMEOUT = Duration.minutes(15)
AGE_REPORT_SCHEDULE = "cron(0 6 * * ? *)"
"""Daily: publish the age of the last passed drill."""
_RESTORE_POLICY = "service-role/AWSBackupServiceRolePolicyForRestores"


def restore_testing_name(prefix: str, what: str) -> str:
    """Restore testing names allow letters, digits and underscores only."""
    return f"{prefix}_{what}".replace("-", "_")


class RestoreDrill(Construct):
    """Restore testing plan and selection, validation function, its triggers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        drill: RestoreDrillConfig,
        database_identifier: str,
        subnet_group_name: str,
        database_security_group_id: str,
        log_retention_days: int,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        database_secret: secretsmanager.ISecret,
        audit_key_secret: secretsmanager.ISecret,
        database_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        database_arn = stack.format_arn(
            service="rds",
            resource="db",
            resource_name=database_identifier,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.restore_role = iam.Role(
            self,
            "RestoreRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description=f"{prefix}: AWS Backup restores the drill's temporary instance",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(_RESTORE_POLICY)],
        )
        # The snapshots are encrypted with the database key; RDS uses it on the role's behalf.
        self.restore_role.add_to_policy(
            iam.PolicyStatement(
                sid="UseDatabaseKeyThroughRds",
                actions=["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"],
                resources=[database_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"rds.{stack.region}.amazonaws.com"}
                },
            )
        )
        self.plan = backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=restore_testing_name(prefix, "monthly_drill"),
            schedule_expression=drill.schedule,
            schedule_expression_timezone="Etc/UTC",
            start_window_hours=drill.start_window_hours,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=["*"],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=drill.selection_window_days,
            ),
        )
        self.selection = backup.CfnRestoreTestingSelection(
            self,
            "Selection",
            restore_testing_plan_name=self.plan.restore_testing_plan_name,
            restore_testing_selection_name=restore_testing_name(prefix, "primary"),
            protected_resource_type="RDS",
            protected_resource_arns=[database_arn],
            iam_role_arn=self.restore_role.role_arn,
            validation_window_hours=drill.validation_window_hours,
            restore_metadata_overrides={
                "dbinstanceclass": drill.instance_class,
                "dbsubnetgroupname": subnet_group_name,
                "vpcsecuritygroupids": Fn.join("", ['["', database_security_group_id, '"]']),
            },
        )
        self.selection.node.add_dependency(self.plan)
        self.status_parameter = ssm.StringParameter(
            self,
            "LastPassed",
            parameter_name=parameter_name(prefix, "restore-drill/last-passed"),
            description=f"{prefix}: time of the last restore drill that passed (set by the drill)",
            string_value="never",
        )
        self.job = JobFunction(
            self,
            "Validation",
            prefix=prefix,
            environment_name=environment_name,
            name="backup-validation",
            handler="lambdas.backup_validation.handler.handler",
            description="validate AWS Backup restore tests (the monthly restore drill)",
            timeout=VALIDATION_TIMEOUT,
            log_retention_days=log_retention_days,
            retain=False,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            logs_key=logs_key,
            environment={
                "DATABASE_SECRET_ARN": database_secret.secret_arn,
                "AUDIT_HASH_KEY_SECRET_ARN": audit_key_secret.secret_arn,
                "RESTORE_DRILL_STATUS_PARAMETER": self.status_parameter.parameter_name,
            },
        )
        function = self.job.function
        secret_reference(self, "DatabaseSecret", database_secret).grant_read(function)
        audit_key_secret.grant_read(function)
        grant_decrypt_via_secrets_manager(function, database_key)
        self.status_parameter.grant_read(function)
        self.status_parameter.grant_write(function)
        restored_instances = stack.format_arn(
            service="rds",
            resource="db",
            resource_name=RESTORE_TEST_INSTANCES,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReachOnlyRestoreTestInstances",
                actions=["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
                resources=[restored_instances],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReportRestoreTests",
                actions=["backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"],
                resources=["*"],  # restore jobs have no ARN to scope by
            )
        )
        self.on_restore = events.Rule(
            self,
            "OnRestoreCompleted",
            description=f"{prefix}: validate a completed restore test",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Restore Job State Change"],
                detail={"status": ["COMPLETED"], "resourceType": ["RDS"]},
            ),
            targets=[targets.LambdaFunction(function, retry_attempts=0)],
        )
        self.age_report = events.Rule(
            self,
            "ReportAge",
            description=f"{prefix}: publish the age of the last passed restore drill",
            schedule=events.Schedule.expression(AGE_REPORT_SCHEDULE),
            targets=[
                targets.LambdaFunction(
                    function,
                    event=events.RuleTargetInput.from_object({"action": "report-age"}),
                    retry_attempts=0,
                )
            ],
        )
