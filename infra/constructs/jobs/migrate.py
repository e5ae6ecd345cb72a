"""Job Lambdas; for now the migration job, run on deployment by a CloudFormation trigger.

The trigger re-runs whenever the function's code changes (new version) or the migrations
change (their hash is a property of the trigger's custom resource). The invocation timeout is
set explicitly: ``triggers.Trigger`` otherwise gives up after two minutes. The runner takes
an advisory lock and is idempotent, so a re-run with nothing new applies nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnResource, Duration, Fn, RemovalPolicy, triggers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config.catalog import retention
from infra.constructs.jobs.packaging import LAMBDA_RUNTIME, lambda_bundle, migrations_digest
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager, secret_reference

MIGRATE_TIMEOUT = Duration.minutes(10)


class Jobs(Construct):
    """The migrate function (VPC, jobs security group) and its deployment trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        log_retention_days: int,
        retain: bool,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        database_secret: secretsmanager.ISecret,
        login_secrets: Sequence[secretsmanager.ISecret],
        database_key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        function_name = f"{prefix}-migrate"
        # No fixed name: a retained group would block re-creating this stateless stack.
        self.log_group = logs.LogGroup(
            self,
            "MigrateLogs",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.migrate = lambda_.Function(
            self,
            "Migrate",
            function_name=function_name,
            description=f"{prefix}: apply database migrations (runs on every deploy)",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler="lambdas.migrate.handler.handler",
            code=lambda_bundle(),
            timeout=MIGRATE_TIMEOUT,
            memory_size=512,
            # No reserved concurrency: it fails in accounts with a low concurrency quota, and
            # the runner's advisory lock already serializes concurrent runs.
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=self.log_group,
            environment={
                "DATABASE_SECRET_ARN": database_secret.secret_arn,
                "DATABASE_SSLMODE": "require",
                "LOGIN_ROLE_SECRET_ARNS": Fn.join(",", [s.secret_arn for s in login_secrets]),
                "POWERTOOLS_SERVICE_NAME": "migrate",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        secret_reference(self, "DatabaseSecret", database_secret).grant_read(self.migrate)
        for index, secret in enumerate(login_secrets):
            secret_reference(self, f"LoginSecret{index}", secret).grant_read(self.migrate)
        grant_decrypt_via_secrets_manager(self.migrate, database_key)
        self.migrations_hash = migrations_digest()
        self.trigger = triggers.Trigger(
            self,
            "MigrateOnDeploy",
            handler=self.migrate,
            timeout=MIGRATE_TIMEOUT,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
            execute_on_handler_change=True,
        )
        custom_resource = self.trigger.node.find_child("Default").node.default_child
        assert isinstance(custom_resource, CfnResource)
        custom_resource.add_property_override("MigrationsHash", self.migrations_hash)
