"""Alarms (seed thresholds, actions, escalation), alert topics and the three dashboards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from datalayer.metric_names import NAMESPACE, Metric
from infra.config import EnvironmentConfig
from infra.constructs.monitoring.escalation import escalation_steps
from infra.tooling.synth import SynthResult
from tests.infra.conftest import only, resources_of, text_of


def _alarms(synth: dict[str, SynthResult], env: str) -> dict[str, dict[str, Any]]:
    alarms = resources_of(synth[env].templates["monitoring"], "AWS::CloudWatch::Alarm")
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in alarms.values()}


def _topics(synth: dict[str, SynthResult], env: str) -> dict[str, str]:
    """Topic logical id -> severity."""
    topics = resources_of(synth[env].templates["monitoring"], "AWS::SNS::Topic")
    return {lid: t["Properties"]["TopicName"].rsplit("-", 1)[1] for lid, t in topics.items()}


def _alarm(
    synth: dict[str, SynthResult], env: str, dashboard: str, rule: str, level: str
) -> dict[str, Any]:
    return _alarms(synth, env)[f"recipe-{env}-{dashboard}-{rule}-{level}"]


# (dashboard, rule, comparison, threshold, minutes of the first level, severity)
SEED_RULES = [
    ("database-overview", "DatabaseCpu", "GreaterThanThreshold", 70, 5, "high"),
    ("database-overview", "DatabaseMemory", "GreaterThanThreshold", 80, 5, "high"),
    ("database-overview", "DatabaseConnectionsHigh", "GreaterThanThreshold", 40, 3, "high"),
    (
        "database-overview",
        "DatabaseConnectionsCritical",
        "GreaterThanOrEqualToThreshold",
        45,
        3,
        "critical",
    ),
    ("database-overview", "QueryLatencyP95", "GreaterThanThreshold", 500, 2, "high"),
    ("database-overview", "SlowStatements", "GreaterThanThreshold", 10, 5, "medium"),
    ("database-overview", "ReplicaLag1", "GreaterThanThreshold", 60, 5, "high"),
    ("database-overview", "DatabaseFreeStorage", "LessThanThreshold", 10 * 1024**3, 5, "critical"),
    (
        "database-overview",
        "DatabaseTransactionIds",
        "GreaterThanThreshold",
        1_000_000_000,
        5,
        "critical",
    ),
    ("database-overview", "PgBouncerClientWait", "GreaterThanThreshold", 100, 5, "high"),
    ("database-overview", "PgBouncerHealthyTasks", "LessThanThreshold", 1, 2, "critical"),
    ("cache-performance", "CacheHitRate", "LessThanThreshold", 70, 10, "medium"),
    ("cache-performance", "CacheEvictions", "GreaterThanThreshold", 100, 5, "medium"),
    ("cache-performance", "CacheMemory", "GreaterThanThreshold", 85, 5, "high"),
    ("cache-performance", "CacheEngineCpu", "GreaterThanThreshold", 80, 5, "high"),
    ("cache-performance", "CacheAuthFailures", "GreaterThanThreshold", 5, 5, "high"),
    ("vector-search-analytics", "VectorSearchLatencyP95", "GreaterThanThreshold", 3000, 5, "high"),
    ("vector-search-analytics", "VectorSearchRecall", "LessThanThreshold", 90, 10, "medium"),
]
LEVELS = ["Medium", "High", "Critical"]


def _window_minutes(alarm: dict[str, Any]) -> int:
    period = alarm.get("Period")
    if period is None:  # metric math: the period sits on the metrics
        period = next(m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m)
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    return int(alarm["DatapointsToAlarm"] * period / 60)


@pytest.mark.parametrize(
    ("dashboard", "rule", "comparison", "threshold", "minutes", "severity"), SEED_RULES
)
def test_seed_rules_with_their_escalation(
    synth: dict[str, SynthResult],
    env: str,
    dashboard: str,
    rule: str,
    comparison: str,
    threshold: float,
    minutes: int,
    severity: str,
) -> None:
    topics = _topics(synth, env)
    climbed = LEVELS[: LEVELS.index(severity.capitalize()) + 1]
    if severity == "critical":
        climbed = ["Critical"]  # critical rules page at once, after their own window
    for level in LEVELS:
        name = f"recipe-{env}-{dashboard}-{rule}-{level}"
        if level not in climbed:
            assert name not in _alarms(synth, env)
            continue
        alarm = _alarm(synth, env, dashboard, rule, level)
        assert alarm["ComparisonOperator"] == comparison
        assert alarm["Threshold"] == threshold
        expected = {"Medium": minutes, "High": max(minutes, 15), "Critical": minutes}[level]
        assert _window_minutes(alarm) == expected
        (action,) = alarm["AlarmActions"]
        assert topics[action["Ref"]] == level.lower()


def test_every_alarm_notifies_a_topic(synth: dict[str, SynthResult], env: str) -> None:
    topics = _topics(synth, env)
    alarms = _alarms(synth, env)
    assert len(alarms) >= 29
    for name, alarm in alarms.items():
        assert alarm.get("ActionsEnabled", True) is True, name
        assert alarm["AlarmActions"], name
        assert all(action["Ref"] in topics for action in alarm["AlarmActions"]), name


def test_critical_rules_page_at_once(synth: dict[str, SynthResult], env: str) -> None:
    """No healthy PgBouncer pages after its own 2 minutes, not after the 30-minute ladder."""
    alarms = _alarms(synth, env)
    healthy = alarms[f"recipe-{env}-database-overview-PgBouncerHealthyTasks-Critical"]
    assert _window_minutes(healthy) == 2
    assert _topics(synth, env)[healthy["AlarmActions"][0]["Ref"]] == "critical"
    assert not [
        name for name in alarms if "PgBouncerHealthyTasks-" in name and "Critical" not in name
    ]


def test_undelivered_backup_failures_page(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    alarm = _alarms(synth, env)[f"recipe-{env}-backup-notification-undelivered"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "FailedInvocations")
    (rule_id,) = [
        lid
        for lid, rule in resources_of(template, "AWS::Events::Rule").items()
        if rule["Properties"]["Name"] == f"recipe-{env}-backup-job-failed"
    ]
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    assert _topics(synth, env)[alarm["AlarmActions"][0]["Ref"]] == "critical"


def test_memory_alarm_converts_freeable_bytes_of_the_instance_class(
    synth: dict[str, SynthResult], env: str
) -> None:
    alarm = _alarm(synth, env, "database-overview", "DatabaseMemory", "Medium")
    expression = next(m["Expression"] for m in alarm["Metrics"] if "Expression" in m)
    assert expression == f"100 - 100 * free / {4 * 1024**3}"  # db.t3.medium: 4 GiB


def test_hit_rate_is_computed_from_the_datalayer_counters(
    synth: dict[str, SynthResult], env: str
) -> None:
    alarm = _alarm(synth, env, "cache-performance", "CacheHitRate", "Medium")
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {Metric.CACHE_L1_HITS, Metric.CACHE_L2_HITS, Metric.CACHE_MISSES}
    for metric in alarm["Metrics"]:
        if "MetricStat" in metric:
            stat = metric["MetricStat"]["Metric"]
            assert stat["Namespace"] == NAMESPACE
            assert stat["Dimensions"] == [{"Name": "Environment", "Value": env}]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_custom_metrics_only_use_the_shared_names(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    found = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("Namespace") == NAMESPACE and "MetricName" in node:
                found.add(node["MetricName"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    assert found, "no custom metric in the alarms"
    assert found <= {metric.value for metric in Metric}


def test_topics_are_encrypted_and_tls_only(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    topics = resources_of(template, "AWS::SNS::Topic")
    assert sorted(_topics(synth, env).values()) == ["critical", "high", "medium"]
    for topic in topics.values():
        assert "KeysAlerting" in text_of(topic["Properties"]["KmsMasterKeyId"])
    for policy in resources_of(template, "AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_channels_follow_the_escalation_ladder(
    synth: dict[str, SynthResult], env: str, configs: dict[str, EnvironmentConfig]
) -> None:
    template = synth[env].templates["monitoring"]
    topics = _topics(synth, env)
    subscriptions: dict[str, set[str]] = {"medium": set(), "high": set(), "critical": set()}
    for sub in resources_of(template, "AWS::SNS::Subscription").values():
        subscriptions[topics[sub["Properties"]["TopicArn"]["Ref"]]].add(
            sub["Properties"]["Protocol"]
        )
    chatbot = only(resources_of(template, "AWS::Chatbot::SlackChannelConfiguration"))["Properties"]
    slack_topics = {topics[t["Ref"]] for t in chatbot["SnsTopicArns"]}
    for level in configs[env].alerting.escalation:
        channels = set(level.channels)
        assert ("slack" in channels) == (level.severity in slack_topics)
        assert ("email" in channels) == ("email" in subscriptions[level.severity])
        assert ("pagerduty" in channels) == ("https" in subscriptions[level.severity])
    assert slack_topics >= {"medium", "high"}
    assert "email" in subscriptions["high"]
    if env == "prod":
        pagerduty = next(
            s
            for s in resources_of(template, "AWS::SNS::Subscription").values()
            if s["Properties"]["Protocol"] == "https"
        )
        endpoint = text_of(pagerduty["Properties"]["Endpoint"])
        assert "{{resolve:secretsmanager:recipe/prod/pagerduty-events-url" in endpoint
        assert "events.pagerduty.com" not in text_of(template)


def test_three_dashboards_with_the_seed_widgets(synth: dict[str, SynthResult], env: str) -> None:
    dashboards = {
        d["Properties"]["DashboardName"]: text_of(d["Properties"]["DashboardBody"])
        for d in resources_of(
            synth[env].templates["monitoring"], "AWS::CloudWatch::Dashboard"
        ).values()
    }
    assert set(dashboards) == {
        f"recipe-{env}-database-overview",
        f"recipe-{env}-cache-performance",
        f"recipe-{env}-vector-search-analytics",
    }
    database = dashboards[f"recipe-{env}-database-overview"]
    for metric in (
        "CPUUtilization",
        "FreeableMemory",
        "DatabaseConnections",
        "ReadLatency",
        "ReadIOPS",
        "QueryLatency",
        "ReplicaLag",
    ):
        assert metric in database, metric
    cache = dashboards[f"recipe-{env}-cache-performance"]
    for metric in (
        "CacheL1Hits",
        "CacheL2Hits",
        "CacheMisses",
        "Evictions",
        "DatabaseMemoryUsagePercentage",
    ):
        assert metric in cache, metric
    vector = dashboards[f"recipe-{env}-vector-search-analytics"]
    for text in ("VectorSearchLatency", "p99", "VectorSearchRecall", "SampleCount", "ReadIOPS"):
        assert text in vector, text


def test_failed_backups_page_immediately(synth: dict[str, SynthResult], env: str) -> None:
    template = synth[env].templates["monitoring"]
    rule = only(
        {
            lid: rule
            for lid, rule in resources_of(template, "AWS::Events::Rule").items()
            if rule["Properties"]["EventPattern"]["detail-type"] == ["Backup Job State Change"]
        }
    )["Properties"]
    assert rule["EventPattern"]["detail"]["state"] == ["FAILED", "ABORTED", "EXPIRED"]
    (target,) = rule["Targets"]
    assert _topics(synth, env)[target["Arn"]["Ref"]] == "critical"
    policies = text_of(resources_of(template, "AWS::SNS::TopicPolicy"))
    assert "BackupFailureRulePublishes" in policies and "aws:SourceArn" in policies


def test_escalation_steps_follow_the_ladder(configs: dict[str, EnvironmentConfig]) -> None:
    ladder = configs["prod"].alerting.escalation
    steps = escalation_steps(3, 1, "critical", ladder)
    assert [(s.severity, s.minutes) for s in steps] == [("critical", 3)]
    assert [(s.severity, s.minutes) for s in escalation_steps(10, 5, "medium", ladder)] == [
        ("medium", 10)
    ]
    steps = escalation_steps(20, 5, "high", ladder)
    assert [(s.severity, s.minutes, s.datapoints) for s in steps] == [
        ("medium", 20, 4),
        ("high", 20, 4),
    ]
    assert (
        json.dumps([s.severity for s in escalation_steps(5, 1, "high", ladder)])
        == '["medium", "high"]'
    )
