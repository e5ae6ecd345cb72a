"""Every cdk-nag acknowledgement of the project, with its reason, in one reviewed place.

Each entry names the stack kind, the construct path inside that stack and the finding. An
acknowledgement whose construct is missing fails the synth, and the tests fail when an
acknowledgement suppresses nothing, so stale entries cannot linger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations

from infra.compliance.paths import find_construct
from infra.config import EnvironmentConfig

PLUGIN = "AwsSolutions"


@dataclass(frozen=True)
class NagAcknowledgement:
    """One reviewed finding: where, which rule, and why it is acceptable."""

    stack: str
    path: str
    rule: str
    reason: str
    applies: Callable[[EnvironmentConfig], bool] = lambda _config: True

    def acknowledged_id(self, config: EnvironmentConfig) -> str:
        """The id the CDK validation report uses (``AwsSolutions::AwsSolutions-XYZ``).

        ``{account}`` and ``{region}`` in a rule stand for the environment's values (cdk-nag
        names resources by their resolved ARN); ``{ssm_prefix}`` for the environment's part
        of an SSM parameter's logical id (``recipedev``), which cdk-nag shows for a value
        read from SSM.
        """
        rule = (
            self.rule.replace("{account}", config.account)
            .replace("{region}", config.region)
            .replace("{ssm_prefix}", config.prefix.replace("-", ""))
        )
        return f"{PLUGIN}::{rule}"


_LAMBDA_BASIC = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)
_LAMBDA_VPC = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
)
_RDS_MONITORING = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
)
_BACKUP_RESTORES = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSBackupServiceRolePolicyForRestores"
)
_JOB_FUNCTIONS = {
    "Maintenance/Job/Function": "the maintenance job",
    "RestoreDrill/Validation/Function": "the restore-drill validation",
}
_BACKUP = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
)


_SSM_SUFFIX = "C96584B6F00A464EAD1953AFF4B05118Parameter"
"""The constant CDK appends to the logical id of every SSM parameter value it reads."""


def _has_replicas(config: EnvironmentConfig) -> bool:
    return config.database.replicas > 0


ACKNOWLEDGEMENTS: tuple[NagAcknowledgement, ...] = (
    NagAcknowledgement(
        "data", "Database/Primary", "AwsSolutions-RDS3",
        "Multi-AZ is switched off by configuration in this environment to halve the "
        "database cost (seed 003: multi_az false); prod runs Multi-AZ. Backups (30 days, "
        "PITR) and the weekly AWS Backup snapshots cover the loss of the instance.",
        applies=lambda config: not config.database.multi_az,
    ),
    NagAcknowledgement(
        "data", "Database/Primary", "AwsSolutions-RDS10",
        "Deletion protection is off only in dev, where the stack is torn down and rebuilt; "
        "staging and prod enable it.",
        applies=lambda config: not config.database.deletion_protection,
    ),
    NagAcknowledgement(
        "data", "Database/Primary", "AwsSolutions-RDS11",
        "PostgreSQL keeps its standard port 5432, which PgBouncer, the migration job and the "
        "rotation Lambda expect; the instance sits in isolated subnets and its security group "
        "admits only the PgBouncer and jobs groups, so a non-default port adds no protection.",
    ),
    NagAcknowledgement(
        "data", "Database/Replica1", "AwsSolutions-RDS11",
        "Same as the primary: standard port 5432, isolated subnets, ingress only from the "
        "PgBouncer and jobs security groups.",
        applies=_has_replicas,
    ),
    NagAcknowledgement(
        "data", "Database/Replica1", "AwsSolutions-RDS2",
        "The replica inherits storage encryption and the KMS key from the encrypted primary; "
        "CloudFormation rejects StorageEncrypted next to SourceDBInstanceIdentifier (F3020), "
        "so the property cannot be written for a read replica.",
        applies=_has_replicas,
    ),
    NagAcknowledgement(
        "data", "Database/Replica1", "AwsSolutions-RDS3",
        "The read replica is itself the extra copy for read scaling; availability of writes "
        "comes from the primary (Multi-AZ in prod). A Multi-AZ replica would double its cost "
        "for reads that fall back to the primary anyway when the replica is down.",
        applies=_has_replicas,
    ),
    NagAcknowledgement(
        "data", "Database/Replica1", "AwsSolutions-RDS10",
        "Deletion protection follows the primary: off only in dev, where the whole "
        "environment is disposable; staging and prod protect the replica too.",
        applies=lambda config: _has_replicas(config) and not config.database.deletion_protection,
    ),
    NagAcknowledgement(
        "data", "Database/MonitoringRole", f"AwsSolutions-IAM4[{_RDS_MONITORING}]",
        "AWS-maintained service-role policy for RDS Enhanced Monitoring; it only lets RDS "
        "write to the RDSOSMetrics log group. A hand-copied inline policy would drift from it.",
    ),
    NagAcknowledgement(
        "data", "Cache/AuthToken", "AwsSolutions-SMG4",
        "ElastiCache has no hosted rotation for AUTH tokens: rotating needs the two-step "
        "ROTATE-then-SET update of the replication group plus client restarts, run by an "
        "operator (runbook in infra/NOTES.md). The token is only usable inside the VPC, "
        "over TLS, from the app and jobs security groups.",
    ),
    NagAcknowledgement(
        "data", "Cache/ReplicationGroup", "AwsSolutions-AEC4",
        "Single-node cache in this environment (cache.replicas = 0) to save cost; Multi-AZ "
        "needs a replica. The cache is rebuildable and the datalayer falls back to the "
        "database when it is unavailable.",
        applies=lambda config: config.cache.replicas == 0,
    ),
    NagAcknowledgement(
        "data", "Backups/Plan/PrimaryDatabase/Role", f"AwsSolutions-IAM4[{_BACKUP}]",
        "AWS Backup requires its AWS-maintained service-role policy to snapshot RDS; the "
        "role can only be assumed by backup.amazonaws.com.",
    ),
    NagAcknowledgement(
        "services", "PgBouncer/Task", "AwsSolutions-ECS2",
        "The only environment variable, PGBOUNCER_INI, carries non-secret configuration "
        "(hosts, pool sizes, timeouts). Credentials reach the container as ECS secrets from "
        "Secrets Manager and are never in the task definition.",
    ),
    NagAcknowledgement(
        "services", "PgBouncer/Lb", "AwsSolutions-ELB2",
        "NLB access logs are only written for TLS listeners; this load balancer forwards TCP "
        "(TLS runs end to end between client and PgBouncer). Flows are recorded by the VPC "
        "flow logs instead.",
    ),
    *(
        NagAcknowledgement(
            "services", f"PgBouncer/{name}Secret", "AwsSolutions-SMG4",
            f"The PgBouncer {role} user exists only inside PgBouncer (auth file), not in "
            "the database; it is reachable only from inside the VPC over TLS, and a new "
            "value is taken up by a redeployment of the service, so there is nothing for a "
            "Secrets Manager rotation Lambda to change.",
        )
        for name, role in (("Admin", "admin console"), ("Stats", "read-only stats console"))
    ),
    NagAcknowledgement(
        "services", "PgBouncer/Task/ExecutionRole/DefaultPolicy", "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken has no resource-level permissions (AWS requires '*'); it "
        "only issues a registry login token, every pull is scoped to the cache prefixes.",
    ),
    *(
        NagAcknowledgement(
            "services", "PgBouncer/Task/ExecutionRole/DefaultPolicy",
            f"AwsSolutions-IAM5[Resource::arn:aws:ecr:{{region}}:{{account}}:"
            f"repository/{prefix}/*]",
            f"A pull-through cache creates one repository per upstream image under the "
            f"'{prefix}/' prefix on first pull; the wildcard is limited to that prefix.",
        )
        for prefix in ("docker-hub", "ecr-public")
    ),
    NagAcknowledgement(
        "operations", "PgBouncerRedeploy/Workflow/Role/DefaultPolicy",
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray tracing of the state machine: xray:PutTraceSegments and related actions have "
        "no resource-level permissions; ecs:UpdateService itself is scoped to the service.",
    ),
    NagAcknowledgement(
        "services", "Jobs/Migrate/ServiceRole", f"AwsSolutions-IAM4[{_LAMBDA_BASIC}]",
        "AWS-maintained minimal Lambda logging policy (CreateLogStream/PutLogEvents).",
    ),
    NagAcknowledgement(
        "services", "Jobs/Migrate/ServiceRole", f"AwsSolutions-IAM4[{_LAMBDA_VPC}]",
        "AWS-maintained policy Lambda needs to create its ENIs in the VPC (the migration job "
        "must reach the database in private subnets).",
    ),
    NagAcknowledgement(
        "services", "Jobs/Migrate", "AwsSolutions-L1",
        "Python 3.12 is pinned on purpose: the bundled wheels (psycopg binary, numpy, "
        "pydantic-core) are selected for exactly this interpreter (infra/assets.py); the "
        "runtime and the wheel tag are upgraded together.",
    ),
    NagAcknowledgement(
        "data", "Gdpr/AuditHashKey", "AwsSolutions-SMG4",
        "The audit HMAC key is never rotated: a new key would orphan every pseudonymous "
        "subject hash already in the audit trail and the erasure ledger and break the "
        "verification of the hash chain. It is read only by the GDPR job roles.",
    ),
    *(
        NagAcknowledgement(
            "operations", f"Gdpr/{job}/Function/ServiceRole", f"AwsSolutions-IAM4[{policy}]",
            reason,
        )
        for job in ("Export", "Erasure")
        for policy, reason in (
            (_LAMBDA_BASIC, f"AWS-maintained minimal Lambda logging policy "
             f"(CreateLogStream/PutLogEvents) of the GDPR {job.lower()} job."),
            (_LAMBDA_VPC, f"AWS-maintained policy Lambda needs to create the ENIs of the GDPR "
             f"{job.lower()} job in the VPC (it must reach the database in private subnets)."),
        )
    ),
    *(
        NagAcknowledgement(
            "operations", f"Gdpr/{job}/Function", "AwsSolutions-L1",
            f"Python 3.12 is pinned on purpose for the GDPR {job.lower()} job: the bundled "
            "wheels (psycopg binary, numpy, pydantic-core) are selected for exactly this "
            "interpreter; the runtime and the wheel tag are upgraded together.",
        )
        for job in ("Export", "Erasure")
    ),
    NagAcknowledgement(
        "operations", "Gdpr/Export/Function/ServiceRole/DefaultPolicy",
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::<SsmParameterValue{ssm_prefix}"
        f"gdprexportsbucketname{_SSM_SUFFIX}>/exports/*]",
        "The export job writes one object per request (its id is the key) under the "
        "exports/ prefix of the exports bucket; the wildcard is limited to that prefix, and "
        "only PutObject and GetObject are allowed.",
    ),
    *(
        entry
        for function, job in _JOB_FUNCTIONS.items()
        for entry in (
            NagAcknowledgement(
                "operations", f"{function}/ServiceRole", f"AwsSolutions-IAM4[{_LAMBDA_BASIC}]",
                f"AWS-maintained minimal Lambda logging policy for {job} "
                "(CreateLogStream/PutLogEvents only).",
            ),
            NagAcknowledgement(
                "operations", f"{function}/ServiceRole", f"AwsSolutions-IAM4[{_LAMBDA_VPC}]",
                f"AWS-maintained policy Lambda needs to create the ENIs of {job} in the VPC "
                "(it reaches the database in private subnets).",
            ),
            NagAcknowledgement(
                "operations", function, "AwsSolutions-L1",
                f"Python 3.12 is pinned on purpose for {job}: the shared bundle's wheels are "
                "selected for exactly this interpreter; runtime and wheel tag move together.",
            ),
        )
    ),
    NagAcknowledgement(
        "operations", "RestoreDrill/RestoreRole", f"AwsSolutions-IAM4[{_BACKUP_RESTORES}]",
        "AWS-maintained restore policy for AWS Backup restore testing; the role can only be "
        "assumed by backup.amazonaws.com and is used by the drill's restore selection only.",
    ),
    NagAcknowledgement(
        "operations", "RestoreDrill/Validation/Function/ServiceRole/DefaultPolicy",
        "AwsSolutions-IAM5[Resource::arn:aws:rds:{region}:{account}:db:awsbackup-restore-test-*]",
        "Restore testing names each temporary instance awsbackup-restore-test-<random>; the "
        "wildcard limits password resets to those instances, never the primary or a replica.",
    ),
    NagAcknowledgement(
        "operations", "RestoreDrill/Validation/Function/ServiceRole/DefaultPolicy",
        "AwsSolutions-IAM5[Resource::*]",
        "backup:DescribeRestoreJob and backup:PutRestoreValidationResult act on restore "
        "jobs, which have no ARN (AWS requires '*').",
    ),
)  # fmt: skip


def acknowledge(stacks: Mapping[str, Stack], config: EnvironmentConfig) -> None:
    """Attach the acknowledgements of ``config``'s environment to their constructs."""
    for entry in ACKNOWLEDGEMENTS:
        if not entry.applies(config):
            continue
        target = find_construct(stacks[entry.stack], entry.path)
        Validations.of(target).acknowledge(
            Acknowledgment(id=entry.acknowledged_id(config), reason=entry.reason)
        )
