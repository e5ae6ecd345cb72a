"""AWS Backup: KMS vault, weekly snapshots kept 12 weeks, RDS keeps owning daily backups."""

from __future__ import annotations

from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def test_vault_is_encrypted_and_locked_where_data_is_kept(
    synth: dict[str, SynthResult], env: str
) -> None:
    vault = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupVault"))
    assert f"recipe-{env}-keys" in text_of(vault["Properties"]["EncryptionKeyArn"])
    access = vault["Properties"].get("AccessPolicy")
    if env == "dev":
        assert access is None
        assert vault["DeletionPolicy"] == "Delete"
    else:
        statement = access["Statement"][0]
        assert statement["Effect"] == "Deny" and "backup:DeleteRecoveryPoint" in statement["Action"]
        assert vault["DeletionPolicy"] == "Retain"


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
