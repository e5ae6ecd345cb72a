"""Read access to a secret held in another stack, granted on the reader's side only.

CDK's ``Secret.grant_read`` also edits the policy of the secret's KMS key, which lives in the
keys stack; from a later stack that edit would make the keys stack depend on its own
dependents (a cycle). The key policy already lets principals of the account decrypt *through
Secrets Manager*, so the reader only needs IAM permissions: ``secretsmanager:GetSecretValue``
on the secret and ``kms:Decrypt`` on its key, restricted to calls made via Secrets Manager.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def secret_reference(
    scope: Construct, construct_id: str, secret: secretsmanager.ISecret
) -> secretsmanager.ISecret:
    """A key-less reference to ``secret`` whose grants touch only the grantee."""
    return secretsmanager.Secret.from_secret_complete_arn(scope, construct_id, secret.secret_arn)


def grant_decrypt_via_secrets_manager(grantee: iam.IGrantable, key: kms.IKey) -> None:
    """Let ``grantee`` decrypt with ``key``, but only inside Secrets Manager calls."""
    region = Stack.of(key).region
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            sid="DecryptSecretsViaSecretsManager",
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            },
        )
    )
