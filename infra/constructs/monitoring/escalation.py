"""Alarm rules as data, and how each one climbs the escalation ladder.

An :class:`AlarmRule` is one condition of seeds 001/003 (metric, comparison, threshold, how
long the breach must last, severity). :func:`escalation_steps` turns it into one CloudWatch
alarm per escalation level up to the rule's severity:

* level 1 (``medium``) fires after the rule's own window (seed 003's duration);
* level 2 (``high``) fires when the breach has lasted ``max(window, 15 min)``;
* level 3 (``critical``) fires when it has lasted ``max(window, 30 min)``.

Each level's alarm notifies that level's topic, so a high condition is seen on Slack first,
then by e-mail. A rule whose own severity is critical (no healthy PgBouncer, storage
running out, transaction-id wraparound) does not wait on the ladder: it pages after its own
window, with a single alarm on the critical topic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from cdk_monitoring_constructs import CustomThreshold, SnsAlarmActionStrategy

from infra.config import EscalationLevel, Severity

SEVERITY_ORDER: tuple[Severity, ...] = ("medium", "high", "critical")


@dataclass(frozen=True)
class AlarmRule:
    """One alarm condition: ``metric comparison threshold`` for ``minutes``."""

    name: str
    summary: str
    metric: cloudwatch.Metric | cloudwatch.MathExpression
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    minutes: int
    severity: Severity
    period_minutes: int = 1
    missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.MISSING


@dataclass(frozen=True)
class EscalationStep:
    """One alarm of a rule: the level it notifies and how long the breach has lasted."""

    severity: Severity
    minutes: int
    datapoints: int


def escalation_steps(
    rule_minutes: int, period_minutes: int, severity: Severity, ladder: tuple[EscalationLevel, ...]
) -> list[EscalationStep]:
    """The alarms a rule gets: one per ladder level up to and including ``severity``.

    Critical rules page at once: one step, critical, after the rule's own window.
    """
    if severity == "critical":
        datapoints = math.ceil(rule_minutes / period_minutes)
        return [EscalationStep("critical", datapoints * period_minutes, datapoints)]
    steps = []
    for index, level in enumerate(ladder):
        if SEVERITY_ORDER.index(level.severity) > SEVERITY_ORDER.index(severity):
            break
        minutes = rule_minutes if index == 0 else max(rule_minutes, level.after_minutes)
        datapoints = math.ceil(minutes / period_minutes)
        steps.append(EscalationStep(level.severity, datapoints * period_minutes, datapoints))
    return steps


def thresholds(
    rule: AlarmRule,
    ladder: tuple[EscalationLevel, ...],
    topics: dict[Severity, sns.ITopic],
) -> dict[str, CustomThreshold]:
    """cdk-monitoring-constructs thresholds for ``rule``, keyed by severity."""
    result = {}
    for step in escalation_steps(rule.minutes, rule.period_minutes, rule.severity, ladder):
        topic = topics[step.severity]
        result[step.severity.capitalize()] = CustomThreshold(
            threshold=rule.threshold,
            comparison_operator=rule.comparison,
            datapoints_to_alarm=step.datapoints,
            evaluation_periods=step.datapoints,
            period=Duration.minutes(rule.period_minutes),
            treat_missing_data_override=rule.missing_data,
            action_override=SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic),
            alarm_description_override=(
                f"[{step.severity}] {rule.summary} for {step.minutes} min"
                f" (threshold {rule.threshold:g}, rule severity {rule.severity})"
            ),
        )
    return result
