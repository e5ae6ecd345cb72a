"""Customer-managed KMS keys, one per kind of data, each with rotation and a narrow policy.

Each key policy has three parts and nothing else:

* administration for the account (no encrypt/decrypt: managing a key is not using it);
* use through the AWS services that own the data (``kms:ViaService`` + ``kms:CallerAccount``),
  so an IAM principal of the account can use the key only through those services and only
  when its own IAM policy also allows it;
* where a service encrypts on its own behalf (CloudWatch Logs, CloudWatch alarms and
  EventBridge publishing to encrypted SNS topics), that service principal, pinned to this
  account by condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig

ADMIN_ACTIONS = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
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
    service_principals: tuple[str, ...] = ()
    logs: bool = False


KEY_SPECS = (
    KeySpec("database", "RDS storage, Performance Insights and the database secret",
            ("rds", "secretsmanager")),
    KeySpec("cache", "ElastiCache at rest and the cache AUTH token secret",
            ("elasticache", "secretsmanager")),
    KeySpec("backups", "AWS Backup vault recovery points", ("backup",)),
    KeySpec("exports", "GDPR data exports and snapshot exports to S3", ("s3", "rds")),
    KeySpec("logs", "CloudWatch Logs groups (flow logs, RDS, cache, PgBouncer, jobs)", (),
            logs=True),
    KeySpec("alerting", "SNS alert topics", ("sns",),
            service_principals=("cloudwatch.amazonaws.com", "events.amazonaws.com")),
)  # fmt: skip


class DataKeys(Construct):
    """The six customer-managed keys: database, cache, backups, exports, logs and alerting."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
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
        config = self._config
        return kms.Key(
            self,
            spec.name.capitalize(),
            alias=f"alias/{config.prefix}/{spec.name}",
            description=f"{config.prefix}: {spec.description}",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30 if config.retain_on_delete else 7),
            removal_policy=RemovalPolicy.RETAIN
            if config.retain_on_delete
            else RemovalPolicy.DESTROY,
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
        if spec.service_principals:
            statements.append(
                iam.PolicyStatement(
                    sid="ServicesPublishToEncryptedTopics",
                    principals=[iam.ServicePrincipal(p) for p in spec.service_principals],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            )
        return iam.PolicyDocument(statements=statements)
