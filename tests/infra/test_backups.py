"""AWS Backup: KMS vault, weekly snapshots kept 12 weeks, RDS keeps owning daily backups."""

from __future__ import annotations

from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def test_vault_is_encrypted_and_protected_by_vault_lock(
    synth: dict[str, SynthResult], env: str
) -> None:
    """Governance mode in dev and staging, compliance mode (a grace period) in prod."""
    vault = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupVault"))
    assert f"recipe-{env}-keys" in text_of(vault["Properties"]["EncryptionKeyArn"])
    lock = vault["Properties"]["LockConfiguration"]
    assert lock["MinRetentionDays"] <= 84 <= lock["MaxRetentionDays"]  # the plan keeps 84 days
    if env == "prod":
        assert lock["ChangeableForDays"] >= 3  # compliance: immutable after the grace period
    else:
        assert "ChangeableForDays" not in lock  # governance: removable by privileged users


def test_vault_survives_teardown_and_has_no_fixed_name(
    synth: dict[str, SynthResult], env: str
) -> None:
    """A vault with recovery points cannot be deleted: retain it (also in dev) and let the
    re-created stack make a new one instead of colliding with a fixed name."""
    vault = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupVault"))
    assert vault["DeletionPolicy"] == "Retain"
    name = text_of(vault["Properties"]["BackupVaultName"])
    assert "AWS::StackId" in name  # unique per stack creation, never a fixed name


def test_weekly_plan_keeps_twelve_weeks_of_snapshots(
    synth: dict[str, SynthResult], env: str
) -> None:
    plan = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupPlan"))
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 5 ? * SUN *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": 84}
    # RDS owns retention and PITR; continuous backup would take BackupRetentionPeriod over.
    assert rule["EnableContinuousBackup"] is False


def test_selection_targets_the_primary_database(synth: dict[str, SynthResult], env: str) -> None:
    selection = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupSelection"))
    resources = text_of(selection["Properties"]["BackupSelection"]["Resources"])
    assert ":db:" in resources and "DatabasePrimary" in resources
