"""A job Lambda: the shared bundle, one handler, in the VPC's jobs group, EMF metrics on.

Every operational job (migrate aside, which predates it) is built here so they share one
deployment package, one runtime, the metrics settings and an encrypted log group.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config.catalog import retention
from infra.constructs.jobs.packaging import LAMBDA_RUNTIME, lambda_bundle


class JobFunction(Construct):
    """``<prefix>-<name>`` running ``handler`` from the shared bundle."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        name: str,
        handler: str,
        description: str,
        timeout: Duration,
        log_retention_days: int,
        retain: bool,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        logs_key: kms.IKey,
        environment: Mapping[str, str],
        memory_size: int = 512,
    ) -> None:
        super().__init__(scope, construct_id)
        # No fixed name: a retained group would block re-creating this stateless stack.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"{prefix}-{name}",
            description=f"{prefix}: {description}",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=lambda_bundle(),
            timeout=timeout,
            memory_size=memory_size,
            # Scheduled and event-driven jobs are not retried by Lambda: a failure is counted
            # (JobFailed) and alarmed, and the next scheduled run starts over idempotently.
            retry_attempts=0,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "METRICS_BACKEND": "emf",
                "METRICS_ENVIRONMENT": environment_name,
                "DATABASE_SSLMODE": "require",
                **environment,
            },
        )
