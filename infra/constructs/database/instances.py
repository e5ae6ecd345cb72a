"""RDS PostgreSQL 17: primary, read replicas, parameters, credentials and their logs.

* Engine: the newest PostgreSQL 17 minor CDK's enum offers (:data:`POSTGRES_VERSION`); RDS
  ships pgvector >= 0.8 with it.
* Parameters force TLS, load pg_stat_statements and log slow statements; the log groups are
  created here (KMS-encrypted, with retention) before RDS writes to them, so no log-retention
  Lambda is needed.
* Credentials: a generated secret encrypted with the database key, rotated by the hosted
  single-user rotation Lambda, which runs in the jobs security group.
* Backups: RDS owns the automated backups (``backup_retention_days``, PITR); AWS Backup only
  takes the weekly snapshots (see :mod:`infra.constructs.backups`).
* The read replica sets MultiAZ and DeletionProtection explicitly (the CDK construct leaves
  them out). It inherits encryption from the primary; StorageEncrypted cannot be written for
  a replica (CloudFormation rejects it next to SourceDBInstanceIdentifier), so cdk-nag's
  RDS2 finding on the replica is acknowledged with that reason.
* One Enhanced Monitoring role serves every instance.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from datalayer.metric_names import NAMESPACE, Metric
from infra.config.catalog import instance_type_name, retention
from infra.config import EnvironmentConfig

POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_9
"""Newest PostgreSQL 17 minor in aws-cdk-lib 2.275 (a test fails when a newer one appears)."""

PRIMARY_LOG_EXPORTS = ("postgresql", "upgrade")
REPLICA_LOG_EXPORTS = ("postgresql",)

# Characters kept out of generated passwords: they break URLs, shell quoting or the
# PgBouncer userlist format (CDK's own default set for RDS plus nothing else).
PASSWORD_EXCLUDED = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"  # noqa: S105 - a character set


class Database(Construct):
    """The primary instance, its read replicas, the parameter group and the master secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        data_subnets: ec2.SubnetSelection,
        jobs_subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        jobs_security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        db = config.database
        self._config = config
        self._logs_key = logs_key
        self.engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)
        retain = config.retain_on_delete
        self._log_removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        instance_removal = RemovalPolicy.SNAPSHOT if retain else RemovalPolicy.DESTROY

        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=self.engine,
            description=f"{config.prefix}: TLS only, pg_stat_statements, slow statement log",
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
        self.secret = rds.DatabaseSecret(
            self,
            "MasterSecret",
            secret_name=f"{config.prefix}/database/master",
            username=db.master_username,
            dbname=db.database_name,
            encryption_key=key,
            exclude_characters=PASSWORD_EXCLUDED,
        )
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            description=f"{config.prefix}: isolated data subnets",
            vpc=vpc,
            vpc_subnets=data_subnets,
            removal_policy=RemovalPolicy.DESTROY,
        )
        insights_mode, insights_retention = _insights(config)
        self.monitoring_role = iam.Role(
            self,
            "MonitoringRole",
            assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
            description=f"{config.prefix}: RDS Enhanced Monitoring",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonRDSEnhancedMonitoringRole"
                )
            ],
        )
        self.primary_identifier = f"{config.prefix}-primary"
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
            identifier = f"{config.prefix}-replica-{index}"
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
        # The rotation Lambda runs in the jobs group. Its target is given as a literal 5432
        # rather than the instance (whose port is a token of this stack), so the security
        # group rule lands in the network stack without a cross-stack cycle.
        self.rotation = secretsmanager.SecretRotation(
            self,
            "Rotation",
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=self.secret,
            target=ec2.Connections(
                security_groups=[security_group], default_port=ec2.Port.tcp(5432)
            ),
            vpc=vpc,
            vpc_subnets=jobs_subnets,
            security_group=jobs_security_group,
            automatically_after=Duration.days(db.secret_rotation_days),
        )
        self.rotation.node.add_dependency(self.primary)

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
                retention=retention(self._config.database.log_retention_days),
                removal_policy=self._log_removal,
            )
        return groups


def _insights(
    config: EnvironmentConfig,
) -> tuple[rds.DatabaseInsightsMode, rds.PerformanceInsightRetention]:
    """Database Insights mode and Performance Insights retention.

    Standard keeps the free 7 days; Advanced requires (and pays for) 15 months.
    """
    if config.database.insights_mode == "advanced":
        return rds.DatabaseInsightsMode.ADVANCED, rds.PerformanceInsightRetention.MONTHS_15
    return rds.DatabaseInsightsMode.STANDARD, rds.PerformanceInsightRetention.DEFAULT
