"""Stateful, in the copy region: the vault and key that receive the weekly backup copies.

Deployed only where ``backup.cross_region_copy.enabled`` (prod): it lives in another region
than the rest of the environment, so the data stack cannot reference it by token. The vault
therefore has a fixed name, from which :func:`copy_vault_arn` builds its ARN for the plan's
copy action, and the data stack is deployed after it. Retained like the home vault: it
holds recovery points, which CloudFormation cannot delete.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.backups import vault_lock
from infra.constructs.keys import ADMIN_ACTIONS, GRANT_ACTIONS, USE_ACTIONS


def copy_vault_name(prefix: str) -> str:
    """The copy vault's fixed name (it must be known to the other region's plan)."""
    return f"{prefix}-copy-vault"


def copy_vault_arn(config: EnvironmentConfig) -> str:
    """ARN of ``config``'s copy vault in the copy region."""
    region = config.backup.cross_region_copy.region
    return f"arn:aws:backup:{region}:{config.account}:backup-vault:{copy_vault_name(config.prefix)}"


class BackupCopyStack(Stack):
    """A KMS key (rotated yearly) and a locked vault for cross-region backup copies."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = config.prefix
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{prefix}/backup-copies",
            description=f"{prefix}: AWS Backup copies of the weekly recovery points",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN,
            policy=self._policy(),
        )
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=copy_vault_name(prefix),
            encryption_key=self.key,
            lock_configuration=vault_lock(config.backup),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _policy(self) -> iam.PolicyDocument:
        account = iam.AccountRootPrincipal()
        via = [f"{service}.{self.region}.amazonaws.com" for service in ("backup", "rds")]
        scope = {"kms:CallerAccount": self.account, "kms:ViaService": via}
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersKey",
                    principals=[account],
                    actions=list(ADMIN_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="UseThroughBackupAndRds",
                    principals=[account],
                    actions=list(USE_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": scope},
                ),
                iam.PolicyStatement(
                    sid="GrantsForBackupAndRds",
                    principals=[account],
                    actions=list(GRANT_ACTIONS),
                    resources=["*"],
                    conditions={
                        "StringEquals": scope,
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                    },
                ),
            ]
        )
