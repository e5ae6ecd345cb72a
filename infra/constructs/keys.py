"""Customer-managed KMS keys, one per kind of data, each with rotation and a narrow policy.

Each key policy has three parts and nothing else:

* administration for the account (no encrypt/decrypt: managing a key is not using it);
* use through the AWS services that own the data (``kms:ViaService`` + ``kms:CallerAccount``),
  so an IAM principal of the account can use the key only through those services and only
  when its own IAM policy also allows it;
* where a service encrypts on its own behalf, that service principal: CloudWatch Logs
  scoped by the log-group ARN in the encryption context, CloudWatch alarms pinned to this
  account (``aws:SourceAccount``), and EventBridge scoped by the topic ARN in the encryption
  context: EventBridge does not send ``aws:SourceAccount`` when it publishes to an
  encrypted topic, so that condition would silently drop every event.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

ADMIN_ACTIONS = (
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:UpdateKeyDescription",
    "kms:RevokeGrant",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
"""Listed one by one: a ``kms:Create*`` wildcard would also grant ``kms:CreateGrant``."""
USE_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")


@dataclass(frozen=True)
class KeySpec:
    """What one key protects and who may use it."""

    name: str
    description: str
    via_services: tuple[str, ...]
    alarms_publish: bool = False
    logs: bool = False


KEY_SPECS = (
    KeySpec("database", "RDS storage, Performance Insights and the database secret",
            ("rds", "secretsmanager")),
    KeySpec("cache", "ElastiCache at rest and the cache AUTH token secret",
            ("elasticache", "secretsmanager")),
    KeySpec("backups", "AWS Backup vault recovery points", ("backup",)),
    KeySpec("exports", "GDPR data exports, their job queues and snapshot exports to S3",
            ("s3", "sqs", "rds")),
    KeySpec("logs", "CloudWatch Logs groups (flow logs, RDS, cache, PgBouncer, jobs)", (),
            logs=True),
    KeySpec("alerting", "SNS alert topics", ("sns",), alarms_publish=True),
)  # fmt: skip


class DataKeys(Construct):
    """The six customer-managed keys: database, cache, backups, exports, logs and alerting."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self._prefix = prefix
        self._retain = retain
        self.keys: dict[str, kms.Key] = {spec.name: self._key(spec) for spec in KEY_SPECS}

    @property
    def database(self) -> kms.Key:
        """Encrypts RDS storage, Performance Insights and the database secret."""
        return self.keys["database"]

    @property
    def cache(self) -> kms.Key:
        """Encrypts the cache at rest and its AUTH token secret."""
        return self.keys["cache"]

    @property
    def backups(self) -> kms.Key:
        """Encrypts the AWS Backup vault."""
        return self.keys["backups"]

    @property
    def exports(self) -> kms.Key:
        """Encrypts data exports (used by the GDPR jobs)."""
        return self.keys["exports"]

    @property
    def logs(self) -> kms.Key:
        """Encrypts every CloudWatch Logs group of the environment."""
        return self.keys["logs"]

    @property
    def alerting(self) -> kms.Key:
        """Encrypts the SNS alert topics."""
        return self.keys["alerting"]

    def _key(self, spec: KeySpec) -> kms.Key:
        return kms.Key(
            self,
            spec.name.capitalize(),
            alias=f"alias/{self._prefix}/{spec.name}",
            description=f"{self._prefix}: {spec.description}",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30 if self._retain else 7),
            removal_policy=RemovalPolicy.RETAIN if self._retain else RemovalPolicy.DESTROY,
            policy=self._policy(spec),
        )

    def _policy(self, spec: KeySpec) -> iam.PolicyDocument:
        stack = Stack.of(self)
        account = iam.AccountRootPrincipal()
        statements = [
            iam.PolicyStatement(
                sid="AccountAdministersKey",
                principals=[account],
                actions=list(ADMIN_ACTIONS),
                resources=["*"],
            )
        ]
        if spec.via_services:
            via = [f"{service}.{stack.region}.amazonaws.com" for service in spec.via_services]
            scope = {"kms:CallerAccount": stack.account, "kms:ViaService": via}
            statements.append(
                iam.PolicyStatement(
                    sid="UseThroughOwningServices",
                    principals=[account],
                    actions=list(USE_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": scope},
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="GrantsForOwningServices",
                    principals=[account],
                    actions=list(GRANT_ACTIONS),
                    resources=["*"],
                    conditions={
                        "StringEquals": scope,
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                    },
                )
            )
        if spec.logs:
            log_groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
            statements.append(
                iam.PolicyStatement(
                    sid="CloudWatchLogsEncrypts",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=[*USE_ACTIONS],
                    resources=["*"],
                    conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
                )
            )
        if spec.alarms_publish:
            statements.append(
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsPublishToEncryptedTopics",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            )
            topics = (
                f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{self._prefix}-alerts-*"
            )
            statements.append(
                iam.PolicyStatement(
                    sid="EventBridgePublishesToEncryptedTopics",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"ArnLike": {"kms:EncryptionContext:aws:sns:topicArn": topics}},
                )
            )
        return iam.PolicyDocument(statements=statements)
