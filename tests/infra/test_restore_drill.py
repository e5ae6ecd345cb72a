"""The monthly restore drill, the maintenance schedule and the shared bundle, as synthesized."""

from __future__ import annotations

import json
from typing import Any

from infra.config import EnvironmentConfig
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, fn["Properties"])
        for lid, fn in resources_of(template, "AWS::Lambda::Function").items()
        if fn["Properties"].get("FunctionName") == name
    ]
    return found


def _rules_targeting(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    return [
        rule["Properties"]
        for rule in resources_of(template, "AWS::Events::Rule").values()
        if any(
            target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
            for target in rule["Properties"]["Targets"]
        )
    ]


def test_restore_testing_restores_the_primary_to_a_small_isolated_instance(
    synth: dict[str, SynthResult], configs: dict[str, EnvironmentConfig], env: str
) -> None:
    template = synth[env].templates["operations"]
    drill = configs[env].restore_drill
    plan = only(resources_of(template, "AWS::Backup::RestoreTestingPlan"))["Properties"]
    assert plan["ScheduleExpression"] == drill.schedule == "cron(0 8 1 * ? *)"  # monthly
    assert plan["RecoveryPointSelection"] == {
        "Algorithm": "LATEST_WITHIN_WINDOW",
        "IncludeVaults": ["*"],
        "RecoveryPointTypes": ["SNAPSHOT"],
        "SelectionWindowDays": drill.selection_window_days,
    }
    selection = only(resources_of(template, "AWS::Backup::RestoreTestingSelection"))
    props = selection["Properties"]
    assert props["ProtectedResourceType"] == "RDS"
    assert props["RestoreTestingPlanName"] == plan["RestoreTestingPlanName"]
    assert f":db:recipe-{env}-primary" in text_of(props["ProtectedResourceArns"])
    # Deleted by restore testing when the window ends, whatever the validation did.
    assert props["ValidationWindowHours"] == drill.validation_window_hours
    overrides = props["RestoreMetadataOverrides"]
    assert overrides["dbinstanceclass"] == "db.t3.medium"
    assert f"recipe{env}databasesubnetgroup" in text_of(overrides["dbsubnetgroupname"])
    assert f"recipe{env}networksecuritygroupsdatabase" in text_of(overrides["vpcsecuritygroupids"])
    role_id = props["IamRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "backup.amazonaws.com" in text_of(role["AssumeRolePolicyDocument"])
    assert "AWSBackupServiceRolePolicyForRestores" in text_of(role["ManagedPolicyArns"])


def test_validation_runs_on_completed_restores_and_reports_daily(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = synth[env].templates["operations"]
    lid, function = _function(template, f"recipe-{env}-backup-validation")
    assert function["Handler"] == "lambdas.backup_validation.handler.handler"
    assert function["Runtime"] == "python3.12" and function["Architectures"] == ["x86_64"]
    assert function["VpcConfig"]["SubnetIds"]  # in the app subnets, jobs group
    variables = function["Environment"]["Variables"]
    assert variables["METRICS_BACKEND"] == "emf" and variables["METRICS_ENVIRONMENT"] == env
    assert "AUDIT_HASH_KEY_SECRET_ARN" in variables  # the data stack's generated secret
    assert "DATABASE_SECRET_ARN" in variables and "RESTORE_DRILL_STATUS_PARAMETER" in variables
    rules = _rules_targeting(template, lid)
    on_restore = only({str(i): r for i, r in enumerate(rules) if "EventPattern" in r})
    assert on_restore["EventPattern"] == {
        "source": ["aws.backup"],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": ["COMPLETED"], "resourceType": ["RDS"]},
    }
    daily = only({str(i): r for i, r in enumerate(rules) if "ScheduleExpression" in r})
    assert daily["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert daily["Targets"][0]["Input"] == '{"action":"report-age"}'


def test_validation_can_only_touch_restore_test_instances(
    synth: dict[str, SynthResult], env: str
) -> None:
    template = synth[env].templates["operations"]
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        if "RestoreDrill" in text_of(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    rds = [s for s in statements if "rds:ModifyDBInstance" in text_of(s["Action"])]
    assert len(rds) == 1
    assert rds[0]["Resource"] == "arn:aws:rds:us-east-1:{}:db:awsbackup-restore-test-*".format(
        {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[env]
    )
    backup = only(
        {str(i): s for i, s in enumerate(statements) if "backup:" in text_of(s["Action"])}
    )
    assert sorted(backup["Action"]) == [
        "backup:DescribeRestoreJob",
        "backup:PutRestoreValidationResult",
    ]


def test_maintenance_runs_nightly_from_the_shared_bundle(
    synth: dict[str, SynthResult], configs: dict[str, EnvironmentConfig], env: str
) -> None:
    operations = synth[env].templates["operations"]
    lid, function = _function(operations, f"recipe-{env}-maintenance")
    assert function["Handler"] == "lambdas.maintenance.handler.handler"
    assert function["Timeout"] == 900
    assert "DATABASE_SECRET_ARN" in function["Environment"]["Variables"]
    rules = {rule["ScheduleExpression"]: rule for rule in _rules_targeting(operations, lid)}
    assert set(rules) == {"cron(30 2 * * ? *)", "cron(30 3 ? * SUN *)"}
    nightly = rules[configs[env].maintenance.schedule]
    weekly = rules[configs[env].maintenance.vector_tune_schedule]
    # The nightly event names no task (the default set, which leaves out vector_tune); the
    # weekly one names only vector_tune.
    assert [json.loads(t["Input"]) for t in nightly["Targets"]] == [{}]
    assert [json.loads(t["Input"]) for t in weekly["Targets"]] == [{"tasks": ["vector_tune"]}]
    assert all(t["RetryPolicy"]["MaximumRetryAttempts"] == 0 for t in weekly["Targets"])
    # One artifact: maintenance, validation and migrate run from the same S3 object.
    _, validation = _function(operations, f"recipe-{env}-backup-validation")
    _, migrate = _function(synth[env].templates["services"], f"recipe-{env}-migrate")
    keys = {text_of(fn["Code"]["S3Key"]) for fn in (function, validation, migrate)}
    assert len(keys) == 1


def test_cross_region_copy_is_on_in_prod_only(synth: dict[str, SynthResult], env: str) -> None:
    plan = only(resources_of(synth[env].templates["data"], "AWS::Backup::BackupPlan"))
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    if env != "prod":
        assert "CopyActions" not in rule
        assert "backup-copy" not in synth[env].templates
        return
    (copy,) = rule["CopyActions"]
    assert copy["DestinationBackupVaultArn"] == (
        "arn:aws:backup:us-west-2:333333333333:backup-vault:recipe-prod-copy-vault"
    )
    assert copy["Lifecycle"] == {"DeleteAfterDays": 84}
    copy_stack = synth[env].templates["backup-copy"]
    vault = only(resources_of(copy_stack, "AWS::Backup::BackupVault"))
    assert vault["Properties"]["BackupVaultName"] == "recipe-prod-copy-vault"
    assert vault["DeletionPolicy"] == "Retain"
    assert vault["Properties"]["LockConfiguration"]["ChangeableForDays"] >= 3  # compliance
    key = only(resources_of(copy_stack, "AWS::KMS::Key"))
    assert key["Properties"]["EnableKeyRotation"] is True
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [next(iter(
        resources_of(copy_stack, "AWS::KMS::Key")
    )), "Arn"]}  # fmt: skip
    assert "us-west-2" in text_of(key["Properties"]["KeyPolicy"])
