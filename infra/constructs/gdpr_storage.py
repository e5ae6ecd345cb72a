"""Stateful GDPR storage: the exports bucket (and its access log) and the audit HMAC key.

The exports bucket holds finished data exports for 30 days: SSE-KMS with the exports key
(bucket key on), every public access blocked, ACLs disabled (bucket owner enforced), TLS
1.2+ only, no versioning (an export is written once; old versions would keep personal data
past its expiry), and a lifecycle that deletes objects after 30 days. Its server access log
goes to a second bucket (S3 cannot log into an SSE-KMS bucket, so that one uses SSE-S3).

The audit key secret is the HMAC key of the audit trail's subject hashes and hash chain.
It is never rotated (a new key would orphan every pseudonym and break chain verification)
and it follows the database's ``retain_on_delete``: the audit trail is unverifiable without
it.

Both buckets are retained everywhere, without a fixed name (re-creating the stack makes
new ones); the lifecycle empties an orphaned exports bucket within 30 days.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.handoff import Keys, publish

EXPORT_RETENTION = Duration.days(30)
ACCESS_LOG_RETENTION = Duration.days(365)
AUDIT_KEY_NAME = "audit-hash-key"


class GdprStorage(Construct):
    """The exports bucket, its access-log bucket and the audit key; published through SSM."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        exports_key: kms.IKey,
        secrets_key: kms.IKey,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "ExportsAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=ACCESS_LOG_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.exports = s3.Bucket(
            self,
            "Exports",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=exports_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=False,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="exports/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-exports",
                    expiration=EXPORT_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.audit_key = secretsmanager.Secret(
            self,
            "AuditHashKey",
            secret_name=f"{prefix}/gdpr/{AUDIT_KEY_NAME}",
            description=f"{prefix}: HMAC key of the audit trail (subject hashes, hash chain)",
            encryption_key=secrets_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",  # noqa: S106 - an empty JSON template, no value
                generate_string_key="key",
                password_length=64,
                exclude_punctuation=True,
            ),
            # Kept with the database: the audit trail is unverifiable without its key.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        publish(self, prefix, Keys.EXPORTS_BUCKET, self.exports.bucket_name, "GDPR exports bucket")
        publish(
            self, prefix, Keys.secret(AUDIT_KEY_NAME), self.audit_key.secret_arn,
            "audit HMAC key secret",
        )  # fmt: skip
