"""Restart PgBouncer when its auth_query user's password rotates.

PgBouncer reads the auth user's password from ``userlist.txt``, written once at task start.
Application users need nothing (``auth_query`` reads their verifier at each login), but the
auth user's own rotation would leave new server logins failing. Secrets Manager reports
``RotationSucceeded`` to EventBridge; a rule starts a one-step state machine that forces a
new deployment of the service (rolling: new tasks start with the new password before the
old ones drain).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config.catalog import retention


class RotationRedeploy(Construct):
    """EventBridge rule on ``RotationSucceeded`` of one secret -> ``ecs:UpdateService``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        secret_arn: str,
        cluster_name: str,
        service_name: str,
        log_retention_days: int,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        service_arn = stack.format_arn(
            service="ecs", resource="service", resource_name=f"{cluster_name}/{service_name}"
        )
        redeploy = tasks.CallAwsService(
            self,
            "ForceNewDeployment",
            service="ecs",
            action="updateService",
            parameters={
                "Cluster": cluster_name,
                "Service": service_name,
                "ForceNewDeployment": True,
            },
            iam_resources=[service_arn],
            iam_action="ecs:UpdateService",
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Workflow",
            state_machine_name=f"{prefix}-pgbouncer-redeploy",
            definition_body=sfn.DefinitionBody.from_chainable(redeploy),
            timeout=Duration.minutes(5),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        self.rule = events.Rule(
            self,
            "OnRotation",
            description=f"{prefix}: PgBouncer auth user rotated -> redeploy PgBouncer",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS Service Event via CloudTrail"],
                detail={
                    "eventSource": ["secretsmanager.amazonaws.com"],
                    "eventName": ["RotationSucceeded"],
                    "additionalEventData": {"SecretId": [secret_arn]},
                },
            ),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )
