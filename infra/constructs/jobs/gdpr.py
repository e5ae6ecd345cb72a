"""The GDPR jobs: export and erasure Lambdas fed by SQS queues with dead-letter queues.

One :class:`QueueJob` per job. The queue and its DLQ are encrypted with the exports key and
refuse plain HTTP; a message that fails :data:`MAX_RECEIVES` times moves to the DLQ (the
monitoring stack alarms on it). The event source mapping reports batch item failures, so
only the failed messages of a batch come back; both jobs are idempotent, so a redelivery is
harmless. ``max_concurrency`` on the mapping caps the database connections the jobs open
(instead of reserved concurrency, which fails under a low account quota).

The functions run in the ``app`` subnets with the jobs security group (which reaches the
database and the Secrets Manager endpoint); the export job has one more group that lets it
reach S3 through the gateway endpoint. They connect to the primary as the application's
login role (the ``app`` secret) and read the audit key from its own secret. Their roles
read exactly those secrets, consume their own queue, and the export role writes and reads
objects under ``exports/`` of the exports bucket, with the exports key used only through
S3 and SQS.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config.catalog import retention
from infra.constructs.gdpr_storage import AUDIT_KEY_NAME
from infra.constructs.handoff import Keys, read
from infra.constructs.jobs.packaging import LAMBDA_RUNTIME, lambda_bundle
from infra.constructs.network.imported import ImportedNetwork
from infra.constructs.secret_access import grant_decrypt_via_secrets_manager

EXPORTS_PREFIX = "exports/"
MAX_RECEIVES = 5
"""Deliveries of a message before it moves to the dead-letter queue."""
DLQ_RETENTION = Duration.days(14)
MAX_CONCURRENCY = 2
"""Concurrent invocations per job (each holds at most two database connections)."""


@dataclass(frozen=True)
class JobSpec:
    """One queue-fed GDPR job."""

    name: str
    description: str
    handler: str
    timeout: Duration
    batch_size: int
    memory_mb: int
    oldest_message_alarm: Duration
    """The monitoring stack alarms when the oldest waiting message is older than this."""


EXPORT = JobSpec(
    "export", "build a user's data export into the exports bucket",
    "lambdas.gdpr.export_handler.handler", Duration.minutes(5), 5, 1024, Duration.minutes(30),
)  # fmt: skip
ERASURE = JobSpec(
    "erasure", "erase a user and verify nothing is left",
    "lambdas.gdpr.erasure_handler.handler", Duration.minutes(15), 1, 1024, Duration.hours(2),
)  # fmt: skip
JOBS = (EXPORT, ERASURE)


def queue_name(prefix: str, job: JobSpec, *, dead_letter: bool = False) -> str:
    """``recipe-dev-gdpr-export`` (and ``...-dlq``): fixed, so alarms address it by name."""
    return f"{prefix}-gdpr-{job.name}" + ("-dlq" if dead_letter else "")


class QueueJob(Construct):
    """A Lambda in the VPC fed by an encrypted queue with a dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        job: JobSpec,
        network: ImportedNetwork,
        extra_security_groups: list[ec2.ISecurityGroup],
        environment: dict[str, str],
        queue_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=queue_name(prefix, job, dead_letter=True),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=queue_key,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name(prefix, job),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=queue_key,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
            # Six times the function timeout, so a batch being retried is not redelivered.
            visibility_timeout=Duration.seconds(job.timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES
            ),
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,  # a stateless stack keeps nothing
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"{prefix}-gdpr-{job.name}",
            description=f"{prefix}: GDPR {job.name} job ({job.description})",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=job.handler,
            code=lambda_bundle(),
            timeout=job.timeout,
            memory_size=job.memory_mb,
            vpc=network.vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[network.groups["jobs"], *extra_security_groups],
            log_group=self.log_group,
            environment={
                **environment,
                "METRICS_BACKEND": "emf",
                "METRICS_ENVIRONMENT": environment_name,
                "POWERTOOLS_SERVICE_NAME": f"gdpr-{job.name}",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=job.batch_size,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )


class GdprJobs(Construct):
    """The export and erasure jobs, reading the data stack through SSM parameters."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        environment_name: str,
        availability_zones: tuple[str, str],
        exports_key: kms.IKey,
        database_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        network = ImportedNetwork(
            self, "Network", prefix=prefix, availability_zones=availability_zones,
            security_groups=("jobs",),
        )  # fmt: skip
        database_secret = read(self, prefix, Keys.secret("app"))
        audit_secret = read(self, prefix, Keys.secret(AUDIT_KEY_NAME))
        bucket_name = read(self, prefix, Keys.EXPORTS_BUCKET)
        self.s3_access = ec2.SecurityGroup(
            self,
            "ExportsS3Access",
            vpc=network.vpc,
            description=f"{prefix}: GDPR export job to S3 (gateway endpoint)",
            allow_all_outbound=False,
        )
        # S3's managed prefix list would need an account lookup at synth; the route to S3
        # goes through the gateway endpoint of the app subnets.
        self.s3_access.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "S3 through the gateway endpoint"
        )
        common = {
            "DATABASE_SECRET_ARN": database_secret,
            "DATABASE_SSLMODE": "require",
            "AUDIT_HASH_KEY_SECRET_ARN": audit_secret,
        }
        self.jobs: dict[str, QueueJob] = {}
        for job in JOBS:
            environment = dict(common)
            if job is EXPORT:
                environment |= {
                    "EXPORTS_BUCKET": bucket_name,
                    "EXPORTS_KMS_KEY_ID": exports_key.key_arn,
                    "EXPORTS_PREFIX": EXPORTS_PREFIX,
                }
            queue_job = QueueJob(
                self,
                job.name.capitalize(),
                prefix=prefix,
                environment_name=environment_name,
                job=job,
                network=network,
                extra_security_groups=[self.s3_access] if job is EXPORT else [],
                environment=environment,
                queue_key=exports_key,
                logs_key=logs_key,
                log_retention_days=log_retention_days,
            )
            function = queue_job.function
            for index, arn in enumerate((database_secret, audit_secret)):
                secretsmanager.Secret.from_secret_complete_arn(
                    queue_job, f"Secret{index}", arn
                ).grant_read(function)
            grant_decrypt_via_secrets_manager(function, database_key)
            self.jobs[job.name] = queue_job
        export_role = self.jobs[EXPORT.name].function
        objects = f"arn:{stack.partition}:s3:::{bucket_name}/{EXPORTS_PREFIX}*"
        export_role.add_to_role_policy(
            iam.PolicyStatement(
                sid="ExportObjects",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[objects],
            )
        )
        export_role.add_to_role_policy(
            iam.PolicyStatement(
                sid="ExportsKeyThroughS3",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[exports_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
