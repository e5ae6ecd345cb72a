"""The nightly maintenance job: ``run_maintenance`` on an EventBridge schedule, plus a weekly
run of the opt-in ``vector_tune`` task (the ef_search that meets the recall target is
re-measured as the data drifts; it scans embeddings exactly, so it is not run nightly).

It connects to the primary as the master user (partitions, REINDEX CONCURRENTLY and ANALYZE
need the tables' owner), like the migrate job. Each task is idempotent, so a failed night
is simply retried by the next one; failures are counted as ``JobFailed{Job=maintenance}``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config.operations import MaintenanceConfig
from infra.constructs.jobs.function import JobFunction
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager, secret_reference

MAINTENANCE_TIMEOUT = Duration.minutes(15)


class MaintenanceJob(Construct):
    """The maintenance function and its schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        maintenance: MaintenanceConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        database_secret: secretsmanager.ISecret,
        database_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.job = JobFunction(
            self,
            "Job",
            prefix=prefix,
            environment_name=environment_name,
            name="maintenance",
            handler="lambdas.maintenance.handler.handler",
            description="nightly database maintenance (partitions, cleanup, statistics, indexes)",
            timeout=MAINTENANCE_TIMEOUT,
            log_retention_days=maintenance.log_retention_days,
            retain=False,  # the operations stack is stateless
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            logs_key=logs_key,
            environment={"DATABASE_SECRET_ARN": database_secret.secret_arn},
        )
        function = self.job.function
        secret_reference(self, "DatabaseSecret", database_secret).grant_read(function)
        grant_decrypt_via_secrets_manager(function, database_key)
        self.schedule = _schedule(
            self,
            "Schedule",
            f"{prefix}: run the maintenance tasks",
            maintenance.schedule,
            function,
            {},
        )
        self.vector_tune_schedule = _schedule(
            self,
            "VectorTuneSchedule",
            f"{prefix}: re-tune the vector search ef_search",
            maintenance.vector_tune_schedule,
            function,
            {"tasks": ["vector_tune"]},
        )


def _schedule(
    scope: Construct,
    construct_id: str,
    description: str,
    expression: str,
    function: lambda_.IFunction,
    event: dict[str, Any],
) -> events.Rule:
    """A rule invoking ``function`` with ``event`` on ``expression``, once (no retries: every
    task is idempotent and the next run picks up what this one missed)."""
    return events.Rule(
        scope,
        construct_id,
        description=description,
        schedule=events.Schedule.expression(expression),
        targets=[
            targets.LambdaFunction(
                function, event=events.RuleTargetInput.from_object(event), retry_attempts=0
            )
        ],
    )
