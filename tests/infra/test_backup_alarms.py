"""Backup and restore-drill alarms, and the configuration that drives the new jobs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.config import ConfigError, load_config
from infra.tooling.synth import SynthResult
from tests.infra.conftest import resources_of, text_of


def _alarms(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, Any]]:
    alarms = resources_of(synth[env].templates["monitoring"], "AWS::CloudWatch::Alarm")
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in alarms.values()}


def _severity(synth: dict[str, SynthResult], env: str, alarm: dict[str, Any]) -> str:
    topics = resources_of(synth[env].templates["monitoring"], "AWS::SNS::Topic")
    (action,) = alarm["AlarmActions"]
    return str(topics[action["Ref"]]["Properties"]["TopicName"].rsplit("-", 1)[1])


def test_backup_longer_than_two_hours_is_high(synth: dict[str, SynthResult], env: str) -> None:
    alarm = _alarms(synth, env)[f"recipe-{env}-backup-longer-than-120-min"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Backup", "NumberOfBackupJobsRunning")
    assert alarm["Dimensions"] == [{"Name": "ResourceType", "Value": "RDS"}]
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 120 * 60
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]  # running the whole time
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    assert _severity(synth, env, alarm) == "high"


def test_failed_backup_jobs_still_page_critical(synth: dict[str, SynthResult], env: str) -> None:
    rules = resources_of(synth[env].templates["monitoring"], "AWS::Events::Rule").values()
    (backup,) = [
        r["Properties"]
        for r in rules
        if r["Properties"]["EventPattern"]["detail-type"] == ["Backup Job State Change"]
    ]
    assert backup["EventPattern"]["detail"]["state"] == ["FAILED", "ABORTED", "EXPIRED"]
    assert "alerts-critical" in text_of(
        resources_of(synth[env].templates["monitoring"], "AWS::SNS::Topic")
    )


def test_failed_restore_tests_are_high(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    topics = resources_of(template, "AWS::SNS::Topic")
    (rule,) = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if "Restore Job State Change" in r["Properties"]["EventPattern"]["detail-type"]
    ]
    assert rule["EventPattern"]["detail"] == {"status": ["FAILED", "ABORTED"]}
    assert set(rule["EventPattern"]["detail-type"]) == {
        "Restore Job State Change",
        "Copy Job State Change",
    }
    (target,) = rule["Targets"]
    assert topics[target["Arn"]["Ref"]]["Properties"]["TopicName"] == f"recipe-{env}-alerts-high"
    policies = text_of(resources_of(template, "AWS::SNS::TopicPolicy"))
    assert "RestoreFailureRulePublishes" in policies
    validation = _alarms(synth, env)[f"recipe-{env}-restore-validation-failed"]
    assert validation["Namespace"] == "RecipeApp/DataLayer"
    assert validation["MetricName"] == "JobFailed"
    assert sorted((d["Name"], d["Value"]) for d in validation["Dimensions"]) == [
        ("Environment", env),
        ("Job", "backup-validation"),
    ]
    assert _severity(synth, env, validation) == "high"
    undelivered = _alarms(synth, env)[f"recipe-{env}-restore-notification-undelivered"]
    assert undelivered["MetricName"] == "FailedInvocations"


def test_missing_validation_for_a_month_alarms(synth: dict[str, SynthResult], env: str) -> None:
    alarm = _alarms(synth, env)[f"recipe-{env}-restore-drill-overdue"]
    assert alarm["MetricName"] == "RestoreDrillAge"
    assert alarm["Dimensions"] == [{"Name": "Environment", "Value": env}]
    assert alarm["Threshold"] == 35 * 86_400  # older than a month (plus the start window)
    assert alarm["TreatMissingData"] == "breaching"  # the daily report stopped, or never passed
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 7 * 86_400  # CloudWatch's limit
    assert _severity(synth, env, alarm) == "high"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda e: e["prod"].update(
                backup={"cross_region_copy": {"enabled": True, "region": "us-east-1"}}
            ),
            "environments.prod.backup.cross_region_copy.region: must differ",
        ),
        (
            lambda e: e["prod"].update(restore_drill={"instance_class": "db.t3.tiny"}),
            "environments.prod.restore_drill.instance_class: unknown RDS instance class",
        ),
        (
            lambda e: e["prod"].update(restore_drill={"validation_window_hours": 0}),
            "environments.prod.restore_drill.validation_window_hours",
        ),
        (
            lambda e: e["prod"].update(maintenance={"schedule": "rate(1 day)"}),
            "environments.prod.maintenance.schedule",
        ),
    ],
)
def test_bad_job_settings_fail_with_the_key_named(
    context: dict[str, Any], mutate: Any, expected: str
) -> None:
    environments = copy.deepcopy(context["environments"])
    mutate(environments)
    with pytest.raises(ConfigError) as error:
        load_config(environments, "prod")
    assert expected in str(error.value)
