"""RDS PostgreSQL 17: primary, read replicas, parameters, credentials and their logs.

* Engine: the newest PostgreSQL 17 minor CDK's enum offers (:data:`POSTGRES_VERSION`); RDS
  ships pgvector >= 0.8 with it.
* Parameters force TLS, load pg_stat_statements and log slow statements; the log groups are
  created here (KMS-encrypted, with retention) before RDS writes to them, so no log-retention
  Lambda is needed.
* Credentials: three generated secrets encrypted with the database key, each rotated by the
  hosted single-user rotation Lambda (in the jobs security group), which keeps the excluded
  characters out of rotated passwords too: the master user (migrations only), the
  application's login role and PgBouncer's auth_query role (both created by migration 0002,
  their passwords set by the migrate job). Each rotation is ordered after the secret's
  attachment to the primary, so the first rotation finds the host in the secret. The
  secrets follow the database's removal policy (kept in staging and prod).
* Backups: RDS owns the automated backups (``backup_retention_days``, PITR); AWS Backup only
  takes the weekly snapshots (see :mod:`infra.constructs.backups`).
* The read replica sets MultiAZ and DeletionProtection explicitly (the CDK construct leaves
  them out). It inherits encryption from the primary; StorageEncrypted cannot be written for
  a replica (CloudFormation rejects it next to SourceDBInstanceIdentifier), so cdk-nag's
  RDS2 finding on the replica is acknowledged with that reason.
* One Enhanced Monitoring role serves every instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from datalayer.metric_names import NAMESPACE, Metric
from infra.config import DatabaseConfig
from infra.config.catalog import instance_type_name, retention

POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_9
"""Newest PostgreSQL 17 minor in aws-cdk-lib 2.275 (a test fails when a newer one appears)."""

PRIMARY_LOG_EXPORTS = ("postgresql", "upgrade")
REPLICA_LOG_EXPORTS = ("postgresql",)

# Characters kept out of generated passwords: they break URLs, shell quoting or the
# PgBouncer userlist format (CDK's own default set for RDS plus nothing else).
PASSWORD_EXCLUDED = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"  # noqa: S105 - a character set


@dataclass(frozen=True)
class LoginSecret:
    """One database login and its secret (``master``, ``app`` or ``pgbouncer``)."""

    name: str
    secret: secretsmanager.ISecret
    rotation: secretsmanager.SecretRotation


class Database(Construct):
    """The primary instance, its read replicas, the parameter group and the login secrets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        db: DatabaseConfig,
        retain: bool,
        vpc: ec2.IVpc,
        data_subnets: ec2.SubnetSelection,
        jobs_subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        jobs_security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._db = db
        self._logs_key = logs_key
        self.engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)
        self._removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        instance_removal = RemovalPolicy.SNAPSHOT if retain else RemovalPolicy.DESTROY

        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=self.engine,
            description=f"{prefix}: TLS only, pg_stat_statements, slow statement log",
            parameters={
                "rds.force_ssl": "1",
                "ssl_min_protocol_version": "TLSv1.2",
                "shared_preload_libraries": "pg_stat_statements",
                "pg_stat_statements.track": "top",
                "track_io_timing": "1",
                "log_min_duration_statement": str(db.slow_statement_ms),
                "log_lock_waits": "1",
                "maintenance_work_mem": str(db.maintenance_work_mem_mb * 1024),  # kB
            },
        )
        self.secret = self._secret(
            "MasterSecret", f"{prefix}/database/master", db.master_username, key
        )
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            description=f"{prefix}: isolated data subnets",
            vpc=vpc,
            vpc_subnets=data_subnets,
            removal_policy=RemovalPolicy.DESTROY,
        )
        insights_mode, insights_retention = _insights(db)
        self.monitoring_role = iam.Role(
            self,
            "MonitoringRole",
            assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
            description=f"{prefix}: RDS Enhanced Monitoring",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonRDSEnhancedMonitoringRole"
                )
            ],
        )
        self.primary_identifier = primary_identifier(prefix)
        primary_logs = self._log_groups("Primary", self.primary_identifier, PRIMARY_LOG_EXPORTS)
        self.primary = rds.DatabaseInstance(
            self,
            "Primary",
            instance_identifier=self.primary_identifier,
            engine=self.engine,
            instance_type=ec2.InstanceType(instance_type_name(db.instance_class)),
            vpc=vpc,
            subnet_group=self.subnet_group,
            security_groups=[security_group],
            publicly_accessible=False,
            port=5432,
            credentials=rds.Credentials.from_secret(self.secret),
            database_name=db.database_name,
            parameter_group=self.parameter_group,
            allocated_storage=db.allocated_storage_gib,
            max_allocated_storage=db.max_allocated_storage_gib,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            storage_encryption_key=key,
            multi_az=db.multi_az,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            iam_authentication=True,
            backup_retention=Duration.days(db.backup_retention_days),
            preferred_backup_window=db.backup_window,
            preferred_maintenance_window=db.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not retain,
            deletion_protection=db.deletion_protection,
            removal_policy=instance_removal,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            monitoring_interval=Duration.seconds(db.monitoring_interval_seconds),
            monitoring_role=self.monitoring_role,
            cloudwatch_logs_exports=list(PRIMARY_LOG_EXPORTS),
            enable_performance_insights=True,
            database_insights_mode=insights_mode,
            performance_insight_retention=insights_retention,
            performance_insight_encryption_key=key,
        )
        for group in primary_logs.values():
            self.primary.node.add_dependency(group)
        self.postgresql_log_group = primary_logs["postgresql"]
        self.slow_statements_filter = logs.MetricFilter(
            self,
            "SlowStatements",
            log_group=self.postgresql_log_group,
            filter_pattern=logs.FilterPattern.all_terms("LOG:", "duration:"),
            metric_namespace=NAMESPACE,
            metric_name=Metric.SLOW_STATEMENTS_LOGGED.value,
            metric_value="1",
            default_value=0,
        )
        self.replicas: list[rds.DatabaseInstanceReadReplica] = []
        for index in range(1, db.replicas + 1):
            identifier = replica_identifier(prefix, index)
            replica_logs = self._log_groups(f"Replica{index}", identifier, REPLICA_LOG_EXPORTS)
            replica = rds.DatabaseInstanceReadReplica(
                self,
                f"Replica{index}",
                instance_identifier=identifier,
                source_database_instance=self.primary,
                instance_type=ec2.InstanceType(instance_type_name(db.replica_instance_class)),
                vpc=vpc,
                subnet_group=self.subnet_group,
                security_groups=[security_group],
                publicly_accessible=False,
                parameter_group=self.parameter_group,
                # Encryption (and its key) is inherited from the encrypted primary: CloudFormation
                # rejects StorageEncrypted/KmsKeyId next to SourceDBInstanceIdentifier (F3020).
                storage_type=rds.StorageType.GP3,
                max_allocated_storage=db.max_allocated_storage_gib,
                multi_az=False,
                deletion_protection=db.deletion_protection,
                # A replica holds no data of its own: deleting it loses nothing.
                removal_policy=RemovalPolicy.DESTROY,
                ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
                iam_authentication=True,
                auto_minor_version_upgrade=True,
                copy_tags_to_snapshot=True,
                preferred_maintenance_window=db.maintenance_window,
                monitoring_interval=Duration.seconds(db.monitoring_interval_seconds),
                monitoring_role=self.monitoring_role,
                cloudwatch_logs_exports=list(REPLICA_LOG_EXPORTS),
                enable_performance_insights=True,
                database_insights_mode=insights_mode,
                performance_insight_retention=insights_retention,
                performance_insight_encryption_key=key,
            )
            for group in replica_logs.values():
                replica.node.add_dependency(group)
            self.replicas.append(replica)
        self._rotation_network = (vpc, jobs_subnets, jobs_security_group, security_group)
        attachment = self.secret.node.find_child("Attachment")
        self.logins: dict[str, LoginSecret] = {
            "master": LoginSecret(
                "master", self.secret, self._rotate("Rotation", self.secret, attachment)
            ),
        }
        for name, construct_id, username in (
            ("app", "App", db.app_login_username),
            ("pgbouncer", "PgBouncerAuth", db.pgbouncer_auth_username),
        ):
            secret = self._secret(
                f"{construct_id}Secret", f"{prefix}/database/{name}", username, key
            )
            attached = secret.attach(self.primary)
            self.logins[name] = LoginSecret(
                name, attached, self._rotate(f"{construct_id}Rotation", secret, attached)
            )

    def _secret(
        self, construct_id: str, name: str, username: str, key: kms.IKey
    ) -> rds.DatabaseSecret:
        secret = rds.DatabaseSecret(
            self,
            construct_id,
            secret_name=name,
            username=username,
            dbname=self._db.database_name,
            encryption_key=key,
            exclude_characters=PASSWORD_EXCLUDED,
        )
        # Kept with the database: a database retained without its credentials is locked.
        secret.apply_removal_policy(self._removal)
        return secret

    def _rotate(
        self, construct_id: str, secret: secretsmanager.ISecret, attachment: IConstruct
    ) -> secretsmanager.SecretRotation:
        """Single-user rotation in the jobs group, after ``attachment`` wrote the host."""
        vpc, subnets, jobs_group, database_group = self._rotation_network
        # The target port is a literal 5432 rather than the instance's (a token of this
        # stack), and the groups are the network stack's: the jobs -> database path exists.
        rotation = secretsmanager.SecretRotation(
            self,
            construct_id,
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=secret,
            target=ec2.Connections(
                security_groups=[database_group], default_port=ec2.Port.tcp(5432)
            ),
            vpc=vpc,
            vpc_subnets=subnets,
            security_group=jobs_group,
            automatically_after=Duration.days(self._db.secret_rotation_days),
            exclude_characters=PASSWORD_EXCLUDED,
        )
        rotation.node.add_dependency(attachment)
        # The schedule itself is created under the secret, not under the rotation.
        secret.node.find_child("RotationSchedule").node.add_dependency(attachment)
        return rotation

    def _log_groups(
        self, construct_prefix: str, identifier: str, exports: tuple[str, ...]
    ) -> dict[str, logs.LogGroup]:
        groups = {}
        for export in exports:
            groups[export] = logs.LogGroup(
                self,
                f"{construct_prefix}{export.capitalize()}Log",
                log_group_name=f"/aws/rds/instance/{identifier}/{export}",
                encryption_key=self._logs_key,
                retention=retention(self._db.log_retention_days),
                removal_policy=self._removal,
            )
        return groups


def replica_identifier(prefix: str, index: int) -> str:
    """The instance identifier of read replica ``index`` (1-based)."""
    return f"{prefix}-replica-{index}"


def _insights(
    db: DatabaseConfig,
) -> tuple[rds.DatabaseInsightsMode, rds.PerformanceInsightRetention]:
    """Database Insights mode and Performance Insights retention.

    Standard keeps the free 7 days; Advanced requires (and pays for) 15 months.
    """
    if db.insights_mode == "advanced":
        return rds.DatabaseInsightsMode.ADVANCED, rds.PerformanceInsightRetention.MONTHS_15
    return rds.DatabaseInsightsMode.STANDARD, rds.PerformanceInsightRetention.DEFAULT


def primary_identifier(prefix: str) -> str:
    """The instance identifier of the primary."""
    return f"{prefix}-primary"
